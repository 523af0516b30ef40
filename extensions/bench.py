"""``python -m extensions.bench`` (also ``text2sql-bench``): the benchmarks (:mod:`extensions.cli.bench`)."""

from extensions.cli.bench import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
