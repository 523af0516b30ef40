"""How long the inline lane holds the calling thread: with the watchdog and without it.

Run ``python -m extensions.cli.bench.lane`` (JSON on stdout), or call
:func:`inline_hold_benchmark` from a benchmark CLI.

>>> r = inline_hold_benchmark(repeats=1, normal_limit=20)
>>> sorted(r["hostile"])
['progress_handler_only', 'watchdog']
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import tempfile
import time

from extensions.execution.budget import Budget
from extensions.execution.lane import InlineLane
from extensions.execution.sandbox import Limits, db_signature

# Each row's GLOB works on KiB-sized operands: one VM step costs milliseconds,
# so a deadline checked every 1,000 steps overruns by far.
HOSTILE = (
    "WITH RECURSIVE s(x, n) AS (SELECT 'a', 0 UNION ALL SELECT x || x, n + 1 FROM s WHERE n < 11), "
    "r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1000) "
    "SELECT count(*) FROM r, s WHERE s.n = 11 AND (x || i) GLOB ('*' || substr(x, 1, 1500) || 'b*')",
    "WITH RECURSIVE s(x, n) AS (SELECT 'a', 0 UNION ALL SELECT x || x, n + 1 FROM s WHERE n < 11), "
    "r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1000) "
    "SELECT count(*) FROM r, s WHERE s.n = 11 AND (x || i) LIKE ('%' || substr(x, 1, 1500) || 'b%')",
    "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r",
)


def _held_ms(lane: InlineLane, path: str, sql: str, budget_s: float) -> float:
    t0 = time.perf_counter()
    lane.run(path, db_signature(path) or (), sql, budget_s, _BUDGET)
    return (time.perf_counter() - t0) * 1000


def _lanes() -> dict[str, InlineLane]:
    limits = Limits(max_rows=10_000, max_value_bytes=4096)
    return {
        "watchdog": InlineLane(limits, 8, True),
        "progress_handler_only": InlineLane(limits, 8, True, watchdog=False),
    }


def _normal_workload(folder: str, limit: int) -> list[tuple[str, str]]:
    from extensions.data.demo import build_demo_databases, demo_examples

    paths = build_demo_databases(folder)
    return [(paths[e["db_id"]], e["query"]) for e in demo_examples()[:limit]]


def inline_hold_benchmark(*, budget_ms: float = 10.0, repeats: int = 3, normal_limit: int = 300) -> dict:
    """Time the lane's hold on the caller for hostile statements and for a normal workload.

    Args:
        budget_ms: the lane's deadline.
        repeats: runs of each hostile statement per lane.
        normal_limit: how many demo gold queries form the normal workload.

    Returns:
        ``{"budget_ms", "hostile": {lane: {"max_ms", "median_ms"}}, "normal": {lane: {"total_ms", "statements"}}}``
        for the lanes ``watchdog`` (the default) and ``progress_handler_only`` (the earlier lane).
    """
    with tempfile.TemporaryDirectory(prefix="lane_bench_") as folder:
        return _measure(_normal_workload(folder, normal_limit), budget_ms, repeats)


def _measure(workload: list[tuple[str, str]], budget_ms: float, repeats: int) -> dict:
    path = workload[0][0]
    out: dict = {"budget_ms": budget_ms, "hostile": {}, "normal": {}}
    for name, lane in _lanes().items():
        held = [_held_ms(lane, path, sql, budget_ms / 1000) for sql in HOSTILE for _ in range(repeats)]
        out["hostile"][name] = {"max_ms": round(max(held), 2), "median_ms": round(statistics.median(held), 2)}
        for p, sql in workload[:20]:  # open the connections first
            lane.run(p, db_signature(p) or (), sql, budget_ms / 1000, _BUDGET)
        t0 = time.perf_counter()
        for p, sql in workload:
            lane.run(p, db_signature(p) or (), sql, budget_ms / 1000, _BUDGET)
        out["normal"][name] = {"total_ms": round((time.perf_counter() - t0) * 1000, 2), "statements": len(workload)}
        lane.close()
    return out


_BUDGET = Budget(timeout_s=10.0)  # the statements' full backstop (reported only; the lane's deadline decides)
_COSTLY_STEP = re.compile(r"(?i)\b(like|glob|instr|replace)\b")


def refusal_share(spider_dir: str) -> dict[str, float]:
    """The alternative to the watchdog: the share of Spider statements a lane refusing
    LIKE/GLOB/instr/replace would send to a worker.

    Args:
        spider_dir: a folder with ``dev.json`` and ``official_exec_verdicts.jsonl``.

    Returns:
        ``{"dev_golds": share, "predictions": share}`` (0 to 1).
    """
    with open(os.path.join(spider_dir, "dev.json")) as fh:
        golds = [e["query"] for e in json.load(fh)]
    with open(os.path.join(spider_dir, "official_exec_verdicts.jsonl")) as fh:
        preds = [json.loads(line)["pred"] for line in fh]
    sets = (("dev_golds", golds), ("predictions", preds))
    return {name: sum(bool(_COSTLY_STEP.search(q)) for q in qs) / len(qs) for name, qs in sets}


if __name__ == "__main__":
    report = inline_hold_benchmark()
    if len(sys.argv) > 1:  # python -m extensions.cli.bench.lane ../shared/spider_dev
        report["refusal_share"] = refusal_share(sys.argv[1])
    print(json.dumps(report, indent=2))
