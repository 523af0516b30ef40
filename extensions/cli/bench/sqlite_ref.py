"""SQLite's own time on a workload: the floor every caller is compared with (``overhead_beyond_sqlite``).

The distinct ``(database, statement)`` pairs of a workload, as the engine de-duplicates them
(:func:`~extensions.sql.normalize.cache_key`), each run once with plain :mod:`sqlite3` on a read-only
connection opened once per database, rows fetched. No sandbox, no caches, no comparison: what is left
of a caller's time beyond this is the toolkit's own work. The same statements through the inline lane's
sandbox (:class:`~extensions.execution.sandbox.SandboxConnection`: authorizer, progress handler, limits)
give ``sandbox_s``, the part of that work the sandbox itself costs.

>>> from extensions.data.demo import build_demo_databases
>>> import tempfile
>>> hr = build_demo_databases(tempfile.mkdtemp())["hr"]
>>> from extensions.cli.bench.workload import Sample
>>> ref = sqlite_reference([Sample(hr, "SELECT 1", "select  1", "spaced"), Sample(hr, "SELECT 1", "SELEC 1", "syntax")])
>>> ref["statements"], ref["databases"]
(2, 1)
"""

from __future__ import annotations

import sqlite3
import statistics
import time
import urllib.parse
from collections.abc import Iterable

from extensions.cli.bench.workload import Sample
from extensions.execution.sandbox import Limits, open_sandbox
from extensions.execution.settings import EngineSettings
from extensions.execution.status import ExecResult
from extensions.sql.normalize import cache_key


def distinct_statements(samples: Iterable[Sample]) -> list[tuple[str, str]]:
    """``(db_path, sql)`` per distinct statement (golds and predictions), first spelling kept.

    Args:
        samples: the workload.

    Returns:
        The pairs, in first-seen order.

    >>> distinct_statements([Sample("d", "SELECT 1", "select 1", "keyword_case")])
    [('d', 'SELECT 1')]
    """
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for s in samples:
        for sql in (s.gold, s.pred):
            seen.setdefault((s.db_path, cache_key(sql)), (s.db_path, sql))
    return list(seen.values())


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{urllib.parse.quote(path)}?mode=ro", uri=True, check_same_thread=False)


def _one_pass(pairs: list[tuple[str, str]]) -> tuple[float, float]:
    """(seconds opening one connection per database, seconds running every statement once)."""
    t0 = time.perf_counter()
    conns = {p: _connect(p) for p in dict.fromkeys(p for p, _ in pairs)}
    for c in conns.values():
        c.execute("SELECT count(*) FROM sqlite_master").fetchone()  # reads the schema, as any first statement must
    t1 = time.perf_counter()
    for path, sql in pairs:
        try:
            conns[path].execute(sql).fetchall()
        except (sqlite3.Error, sqlite3.Warning, ValueError):
            pass
    t2 = time.perf_counter()
    for c in conns.values():
        c.close()
    return t1 - t0, t2 - t1


def _sandbox_pass(pairs: list[tuple[str, str]], settings: EngineSettings) -> float:
    """Seconds running every statement once through the inline lane's sandbox (connections opened before)."""
    limits = Limits(
        max_rows=settings.inline_max_rows,
        max_value_bytes=settings.inline_max_value_bytes,
        max_sql_bytes=settings.max_sql_bytes,
    )
    conns = {
        p: open_sandbox(p, limits, immutable=settings.immutable, cache_kib=512, refuse_growing=True)
        for p in dict.fromkeys(p for p, _ in pairs)
    }
    t0 = time.perf_counter()
    for path, sql in pairs:
        conn = conns[path]
        if not isinstance(conn, ExecResult):
            conn.run(sql, settings.timeout_s)
    elapsed = time.perf_counter() - t0
    for conn in conns.values():
        if not isinstance(conn, ExecResult):
            conn.close()
    return elapsed


def sqlite_reference(samples: list[Sample], passes: int = 3) -> dict:
    """SQLite's own time on the workload's distinct statements (median of ``passes`` fresh passes).

    Args:
        samples: the workload.
        passes: passes, each on newly opened connections.

    Returns:
        ``statements``, ``databases``, ``open_s`` (opening the databases), ``run_s`` (running the
        statements), ``total_s`` (both) and ``sandbox_s`` (running them in the lane's sandbox instead),
        each the median over the passes.
    """
    pairs = distinct_statements(samples)
    runs = [_one_pass(pairs) for _ in range(max(1, passes))]
    open_s = statistics.median(r[0] for r in runs)
    run_s = statistics.median(r[1] for r in runs)
    sandbox_s = statistics.median(_sandbox_pass(pairs, EngineSettings()) for _ in range(max(1, passes)))
    return {
        "statements": len(pairs),
        "databases": len({p for p, _ in pairs}),
        "passes": len(runs),
        "open_s": open_s,
        "run_s": run_s,
        "total_s": open_s + run_s,
        "sandbox_s": sandbox_s,
    }
