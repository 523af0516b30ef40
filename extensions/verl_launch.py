"""``python -m extensions.verl_launch``: see :mod:`extensions.integrations.verl.launch`."""

from extensions.integrations.verl.launch import build_command, build_overrides, main, reward_overrides

__all__ = ["build_command", "build_overrides", "main", "reward_overrides"]

if __name__ == "__main__":
    raise SystemExit(main())
