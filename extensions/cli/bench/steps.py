"""Measure the VM steps of gold queries: the evidence behind the default ``max_vm_steps``.

``python -m extensions.cli.bench.steps --spider ../shared/spider_dev`` runs every gold query of
the official Spider dev set on every database file of its ``db_id`` (test-suite variants
included), the bundled demo golds and the heavy database's golds, each with no step budget, and
prints per source the number of statements, the largest step count and its query, and how the
default budget compares. Steps are counted as the engine counts them: SQLite's progress handler
every ``Limits.progress_steps`` instructions, on the gold as written and as the Spider evaluator
rewrites it (``DISTINCT`` removed).

>>> from extensions.data.demo import build_demo_databases
>>> import tempfile
>>> hr = build_demo_databases(tempfile.mkdtemp())["hr"]
>>> measure([(hr, "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 10000) "
...                "SELECT count(*) FROM r")]).max_steps > 10_000
True
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from extensions.execution.compare import prepare_sql
from extensions.execution.sandbox import Limits, SandboxConnection, open_sandbox
from extensions.execution.settings import DEFAULTS
from extensions.execution.status import ExecResult, Status

# No step budget while measuring; a gold that runs this long is reported as failed.
_MEASURE_WALL_S = 600.0


@dataclass
class StepReport:
    """The step counts of a set of statements.

    Attributes:
        statements: how many ran.
        max_steps: the largest VM step count of those that ran.
        max_sql: the statement that took it, and its database file.
        failed: ``(path, sql, status)`` of statements that did not end ``ok``.
    """

    statements: int = 0
    max_steps: int = 0
    max_sql: tuple[str, str] = ("", "")
    failed: list[tuple[str, str, str]] = field(default_factory=list)


def measure(items: Iterable[tuple[str, str]], limits: Limits | None = None) -> StepReport:
    """Run each ``(db_path, sql)`` with no step budget and keep the largest step count.

    Args:
        items: database files and statements.
        limits: the sandbox limits, the progress handler's period among them (default: ``Limits()``).

    Returns:
        A :class:`StepReport`.
    """
    report = StepReport()
    limits = limits or Limits()
    conns: dict[str, SandboxConnection | ExecResult] = {}
    try:
        for path, sql in items:
            conn = conns.get(path) or conns.setdefault(path, open_sandbox(path, limits))
            r = conn if isinstance(conn, ExecResult) else conn.run(sql, _MEASURE_WALL_S)
            report.statements += 1
            if r.status is not Status.OK:
                report.failed.append((path, sql, r.status.value))
            elif r.vm_steps > report.max_steps:
                report.max_steps, report.max_sql = r.vm_steps, (path, sql)
    finally:
        for c in conns.values():
            if isinstance(c, SandboxConnection):
                c.close()
    return report


def _with_rewrites(path: str, sql: str) -> list[tuple[str, str]]:
    """The gold as written and as the Spider evaluator runs it (once when they are equal)."""
    return list(dict.fromkeys([(path, sql), (path, prepare_sql(sql, semantics="spider"))]))


def spider_items(root: str) -> list[tuple[str, str]]:
    """Every gold of ``<root>/dev.json`` on every ``*.sqlite`` file of its database folder."""
    with open(os.path.join(root, "dev.json"), encoding="utf-8") as fh:
        examples = json.load(fh)
    items = []
    for e in examples:
        folder = os.path.join(root, "database", e["db_id"])
        files = sorted(f for f in os.listdir(folder) if f.endswith(".sqlite")) if os.path.isdir(folder) else []
        for f in files:
            items += _with_rewrites(os.path.join(folder, f), e["query"])
    return items


def bundled_items(cache_dir: str, heavy: bool = True) -> list[tuple[str, str]]:
    """The demo golds (and, with ``heavy``, the heavy database's), databases built under ``cache_dir``."""
    from extensions.data.demo import build_demo_databases, demo_examples, slot_examples

    paths = build_demo_databases(os.path.join(cache_dir, "demo"))
    items = [it for e in demo_examples() + slot_examples() for it in _with_rewrites(paths[e["db_id"]], e["query"])]
    if heavy:
        from extensions.data.heavy import build_heavy_database, heavy_examples

        path = build_heavy_database(os.path.join(cache_dir, "heavy", "heavy.sqlite"))
        items += [it for e in heavy_examples() for it in _with_rewrites(path, e["query"])]
    return items


def _print(name: str, r: StepReport) -> None:
    print(
        f"{name}: {r.statements} statements, max {r.max_steps:,} VM steps "
        f"({r.max_steps / max(1, DEFAULTS.max_vm_steps):.1%} of max_vm_steps={DEFAULTS.max_vm_steps:,})"
    )
    print(f"  largest: {os.path.basename(r.max_sql[0])}: {r.max_sql[1][:160]}")
    if r.failed:
        print(f"  {len(r.failed)} did not run ok, e.g. {r.failed[:3]}")


def main(argv: list[str] | None = None) -> int:
    """Print the step counts of the golds; exit status 1 when one passes the default budget."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--spider", help="a Spider folder with dev.json and database/ (e.g. ../shared/spider_dev)")
    p.add_argument(
        "--cache-dir",
        default=os.path.join(tempfile.gettempdir(), "extensions_steps"),
        help="where the demo and heavy databases are built",
    )
    p.add_argument("--no-heavy", action="store_true", help="skip the heavy database (1.2M rows to build)")
    a = p.parse_args(argv)
    reports = {"bundled": measure(bundled_items(a.cache_dir, heavy=not a.no_heavy))}
    if a.spider:
        reports["spider"] = measure(spider_items(a.spider))
    for name, r in reports.items():
        _print(name, r)
    return 1 if any(r.max_steps > DEFAULTS.max_vm_steps for r in reports.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
