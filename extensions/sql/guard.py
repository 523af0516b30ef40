"""Placeholder of the nesting guard's contract (replaced by the hardened version)."""

from __future__ import annotations

from extensions._util.nesting import bracket_depth

MAX_DEPTH = 100


def check_sql(sql: str) -> str | None:
    """None when ``sql`` is safe to hand to sqlglot, else a reason (``too_deep: ...``)."""
    depth = bracket_depth(sql)
    return f"too_deep: {depth} nested brackets (limit {MAX_DEPTH})" if depth > MAX_DEPTH else None
