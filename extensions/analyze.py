"""``python -m extensions.analyze ROLLOUTS`` (also ``text2sql-analyze``): shaping signal without training.

The command is :mod:`extensions.cli.analyze`.
"""

from extensions.cli.analyze import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
