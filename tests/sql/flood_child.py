"""Flood every SQL cache with distinct big statements; print the peak RSS growth in MiB.

Usage: ``python -m tests.sql.flood_child``.
"""

from __future__ import annotations

import gc
import resource
import sys

from extensions.reward_enhanced import SchemaAwareReward, StructuralReward
from extensions.sql.hardness import spider_hardness
from extensions.sql.normalize import cache_key
from extensions.sql.parse import parse_sql

SCHEMA = {"t": ["a", "b"]}


def peak_mib() -> float:
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def long_completion(i: int) -> str:
    """A valid ~18,000-character query with a flat IN list: a big tree that the guard accepts."""
    items = ", ".join(str(i * 10_000 + j) for j in range(2_000))
    return f"SELECT a, b FROM t WHERE a IN ({items}) AND b > {i} ORDER BY a"


def touch(sql: str) -> None:
    parse_sql(sql)
    cache_key(sql)
    spider_hardness(sql)
    StructuralReward().compute(sql, "SELECT a FROM t")
    SchemaAwareReward().compute(sql, SCHEMA)


if __name__ == "__main__":
    touch(long_completion(-1))
    gc.collect()
    before = peak_mib()
    for i in range(300):
        touch("SELECT " + "+".join(["1"] * 4_990) + f"+{i}")
    for i in range(200):
        touch(long_completion(i))
    print(round(peak_mib() - before, 1))
