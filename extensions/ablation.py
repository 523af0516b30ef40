"""``python -m extensions.ablation`` (also ``text2sql-ablation``): what each shaping component does.

The command is :mod:`extensions.training.ablation`.
"""

from extensions.training.ablation import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
