"""``python -m extensions.validation``: checks of a config and a dataset before training.

The command is :mod:`extensions.cli.validate`; the checks are in :mod:`extensions.data.checks` and
:mod:`extensions.training.preflight`.
"""

from extensions.cli.validate import load_rows, main, write_filtered
from extensions.data.checks import Report, Row, check_training_rows, database_problem, validate_rows
from extensions.training.preflight import check_config, validate_config

__all__ = [
    "Report",
    "Row",
    "check_config",
    "check_training_rows",
    "database_problem",
    "load_rows",
    "main",
    "validate_config",
    "validate_rows",
    "write_filtered",
]

if __name__ == "__main__":
    raise SystemExit(main())
