"""``python -m extensions.evaluate`` (also ``text2sql-evaluate``): execution accuracy of predictions.

The command is :mod:`extensions.cli.evaluate`.
"""

from extensions.cli.evaluate import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
