"""``python -m extensions.verl_launch`` (also ``text2sql-verl-launch``): the verl command.

The command is :mod:`extensions.integrations.verl.launch`.
"""

from extensions.integrations.verl.launch import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
