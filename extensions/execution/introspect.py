"""Read-only introspection of a database for prompts: sample values per column.

Runs through the same sandbox as everything else (read-only URI, authorizer,
deadline), in-process: these are small bounded queries on trusted names.
"""

from __future__ import annotations

import functools
import os

from extensions.execution.sandbox import Limits, open_sandbox
from extensions.execution.status import ExecResult, Status
from extensions.sql.schema import Schema


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@functools.lru_cache(maxsize=512)
def _samples(path: str, mtime_ns: int, k: int, max_chars: int) -> dict[tuple[str, str], tuple[object, ...]]:
    conn = open_sandbox(path, Limits(max_rows=max(k, 1)))
    if isinstance(conn, ExecResult):
        return {}
    out: dict[tuple[str, str], tuple[object, ...]] = {}
    try:
        schema = Schema.from_sqlite(path)
        for t in schema.tables:
            for c in t.columns:
                sql = f"SELECT DISTINCT {_q(c.name)} FROM {_q(t.name)} WHERE {_q(c.name)} IS NOT NULL LIMIT {k}"
                r = conn.run(sql, 2.0)
                if r.status is Status.OK and r.rows:
                    vals: list[object] = []
                    for (v,) in r.rows:
                        if isinstance(v, bytes):
                            v = v.hex()
                        if isinstance(v, str) and len(v) > max_chars:
                            v = v[:max_chars] + "..."
                        vals.append(v)
                    out[(t.name.lower(), c.name.lower())] = tuple(vals)
    finally:
        conn.close()
    return out


def sample_values(path: str, k: int = 3, max_chars: int = 40) -> dict[tuple[str, str], tuple[object, ...]]:
    """``{(table, column): (value, ...)}`` with up to ``k`` distinct non-NULL values each."""
    if k <= 0:
        return {}
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return {}
    return _samples(os.path.abspath(path), mtime, k, max_chars)
