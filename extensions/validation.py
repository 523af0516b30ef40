"""``python -m extensions.validation`` (also ``text2sql-validate``): a dataset checked before training.

The command is :mod:`extensions.cli.validate`; the checks are :mod:`extensions.data.checks` and
:func:`extensions.config.validate_config`.
"""

from extensions.cli.validate import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
