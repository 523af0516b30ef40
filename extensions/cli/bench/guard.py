"""``bench guard``: the nesting guard against every real query at hand, with sqlglot's parse time for each.

Queries: the bundled demo golds and, when Spider dev is present, its golds and every recorded prediction of
``official_exec_verdicts.jsonl``. Reported: how many the guard refuses (and how many of those sqlglot parses
in under 50 ms), the largest depth estimate and the slowest parses.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time

import sqlglot

from extensions.data.demo import demo_examples, slot_examples
from extensions.sql.guard import check_sql, tree_depth_estimate

FAST_MS = 50.0


def _queries(shared: str) -> dict[str, list[str]]:
    out = {"demo": [e["query"] for e in demo_examples() + slot_examples()]}
    dev = os.path.join(shared, "dev.json")
    verdicts = os.path.join(shared, "official_exec_verdicts.jsonl")
    if os.path.exists(dev) and os.path.exists(verdicts):
        with open(dev, encoding="utf-8") as fh:
            out["spider_gold"] = [e["query"] for e in json.load(fh)]
        with open(verdicts, encoding="utf-8") as fh:
            out["spider_pred"] = [p for line in fh if isinstance(p := json.loads(line)["pred"], str)]
    return out


def _parse_ms(sql: str) -> float:
    start = time.perf_counter()
    with contextlib.suppress(sqlglot.errors.SqlglotError):  # a prediction that does not parse still has a time
        sqlglot.parse_one(sql, read="sqlite")
    return (time.perf_counter() - start) * 1000.0


def cmd_guard(args: argparse.Namespace) -> dict:
    """Guard verdicts, depth estimates and parse times of every distinct real query.

    Args:
        args: the bench options (``--shared``).

    Returns:
        Per source: ``queries``, ``refused``, ``refused_fast`` (refused, yet parsed in under 50 ms),
        ``max_depth_estimate``, ``max_parse_ms`` and ``slowest`` (the three slowest, truncated).
    """
    report: dict[str, dict] = {}
    for source, sqls in _queries(args.shared).items():
        distinct = sorted(set(sqls))
        timed = [(_parse_ms(s), s) for s in distinct]
        refused = [(ms, s) for ms, s in timed if check_sql(s) is not None]
        report[source] = {
            "queries": len(distinct),
            "refused": len(refused),
            "refused_fast": sum(ms < FAST_MS for ms, _ in refused),
            "max_depth_estimate": max(tree_depth_estimate(s) for s in distinct),
            "max_parse_ms": round(max(ms for ms, _ in timed), 2),
            "slowest": [[round(ms, 2), s[:80]] for ms, s in sorted(timed, reverse=True)[:3]],
        }
    return report
