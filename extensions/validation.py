"""``python -m extensions.validation``: checks of a config and a dataset before training (see :mod:`extensions.cli.validate`)."""

from extensions.cli.validate import Report, Row, check_config, check_training_rows, load_rows, main, validate_config, validate_rows, write_filtered

__all__ = ["Report", "Row", "check_config", "check_training_rows", "load_rows", "main", "validate_config", "validate_rows", "write_filtered"]

if __name__ == "__main__":
    raise SystemExit(main())
