"""The SQL caches are bounded in bytes: a flood of distinct big statements cannot grow the trainer."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MAX_GROWTH_MIB = 300  # the caches' byte budgets add up to about half of this


@pytest.mark.slow
def test_flood_of_distinct_long_statements_keeps_rss_bounded() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.sql.flood_child"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert float(proc.stdout.split()[-1]) < MAX_GROWTH_MIB
