"""Benchmarks: ``python -m extensions.bench``; the commands are described in :mod:`extensions.cli.bench.cli`."""

from extensions.cli.bench.cli import build_parser, main

__all__ = ["build_parser", "main"]
