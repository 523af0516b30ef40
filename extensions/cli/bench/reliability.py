"""``bench reliability``: the wall-clock and memory figures of round 3's reliability checks (tests assert CPU).

* ``expensive``: 3 statements whose single VM steps are expensive (GLOB against a 4 KiB character class)
  through ``compute_score``, then a batch of 8 more through ``compute_score_batch``, beside ``--busy``
  busy-loop processes. Bounds: the batch within 25 s of wall clock, at most 0.25 s of the calling
  thread's CPU per statement.
* ``tool``: the tool's runaway queries (a recursive CTE, a 60^5 join, a ``printf`` padding, the GLOB)
  under its default limits, quiet and beside ``--busy`` processes: the answer, the wall time and the
  workers' CPU seconds. Bound: the workers' CPU within the stated limit plus the worker's grace for a
  step SQLite cannot interrupt (0.5 s) and 0.1 s for clock ticks.
* ``tool_memory``: the trainer's peak RSS growth for one tool call over 12 columns x 99,999 short rows,
  in a fresh process (the call shows 10 rows).

>>> len(expensive_step(0)) > 4096
True
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from extensions.data.demo import build_demo_databases
from extensions.defaults.tool import ToolLimits
from extensions.execution.engine import ExecutionEngine
from extensions.execution.pool import process_cpu_s
from extensions.execution.worker import CPU_GRACE_S
from extensions.integrations.verl.hook import compute_score, compute_score_batch
from extensions.tool.sql_tool import run_query

# 4,096 characters, none of them in the text: each GLOB call scans the class at each of 4,096 positions
# (tens of milliseconds, a few VM steps), so the step budget alone would take hours to stop the statement.
_CLASS = "".join(chr(0x4E00 + i) for i in range(4096))
UNINTERRUPTIBLE = "SELECT printf('%.*c', 2000000000, 'x') IS NULL"  # one VM step that pads for seconds
BATCH_WALL_BOUND_S = 25.0
CALLER_CPU_BOUND_S = 0.25
CPU_GRACE_BOUND_S = CPU_GRACE_S + 0.1


def expensive_step(salt: int = 0) -> str:
    """GLOB calls against a 4 KiB character class over a 3,600-row join (``salt`` makes each statement new).

    Args:
        salt: any integer; different salts give different statements with the same cost.

    Returns:
        The statement (on the demo ``hr`` database).
    """
    return (
        "WITH RECURSIVE s(x) AS (SELECT 'a' UNION ALL SELECT x || x FROM s WHERE length(x) < 4096), "
        "big(x) AS (SELECT x FROM s WHERE length(x) >= 4096) "
        f"SELECT count(*) FROM big, employees e1, employees e2 WHERE big.x || e1.name GLOB '*[{_CLASS}]' "
        f"AND e2.id > {-1 - salt}"
    )


@contextlib.contextmanager
def busy_processes(n: int) -> Iterator[list[int]]:
    """``n`` busy-loop processes for the duration of the block, each ended by its PID.

    Args:
        n: how many.

    Yields:
        Their PIDs.
    """
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=30)


def _completion(sql: str) -> str:
    return f"<think>t</think><answer>```sql\n{sql}\n```</answer>"


def expensive_battery(hr: str, busy: int, salt: int = 0) -> dict[str, Any]:
    """3 expensive statements through ``compute_score``, then 8 through ``compute_score_batch``.

    Args:
        hr: the demo ``hr`` database.
        busy: busy-loop processes beside it.
        salt: makes the statements new to a process that ran the battery before.

    Returns:
        Per call: wall seconds, the calling thread's CPU seconds and the statuses; the bounds and whether they held.
    """
    gold = {"sql": "SELECT count(*) FROM employees", "db_path": hr}
    singles = []
    with busy_processes(busy):
        for i in range(3):
            t0, c0 = time.perf_counter(), time.thread_time()
            b = compute_score("bench", _completion(expensive_step(salt + i)), gold)
            singles.append(_call(t0, c0, [b]))
        sols = [_completion(expensive_step(salt + 100 + i)) for i in range(8)]
        t0, c0 = time.perf_counter(), time.thread_time()
        batch = _call(t0, c0, compute_score_batch(None, sols, [gold] * 8, None))
    held = batch["wall_s"] <= BATCH_WALL_BOUND_S and batch["caller_cpu_s"] <= CALLER_CPU_BOUND_S * 8
    held = held and all(s["caller_cpu_s"] <= CALLER_CPU_BOUND_S for s in singles)
    bounds = {"batch_wall_s": BATCH_WALL_BOUND_S, "caller_cpu_s_per_statement": CALLER_CPU_BOUND_S}
    return {"busy": busy, "singles": singles, "batch": batch, "bounds": bounds, "held": held}


def _call(t0: float, c0: float, breakdowns: list[dict[str, float]]) -> dict[str, Any]:
    statuses = [max((k for k in b if k.startswith("status_")), key=b.get)[7:] for b in breakdowns]
    return {"wall_s": time.perf_counter() - t0, "caller_cpu_s": time.thread_time() - c0, "statuses": statuses}


def _workers_cpu_s(eng: ExecutionEngine) -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # workers that ended themselves are reaped children
    return sum(process_cpu_s(pid) or 0.0 for pid in eng.stats()["worker_pids"]) + usage.ru_utime + usage.ru_stime


def tool_runaways(hr: str, busy: int) -> list[dict[str, Any]]:
    """The tool's runaway queries under its default limits (``max_query_chars`` raised for the GLOB).

    Args:
        hr: the demo ``hr`` database.
        busy: busy-loop processes beside them.

    Returns:
        Per query: the answer, wall seconds, the workers' CPU seconds, and whether that stayed within the
        stated limit plus :data:`CPU_GRACE_BOUND_S`.
    """
    limits = ToolLimits(max_query_chars=10_000)
    queries = {
        "recursive_cte": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
        "join_60_to_the_5": "SELECT count(*) FROM employees a, employees b, employees c, employees d, employees e",
        "printf": UNINTERRUPTIBLE,
        "glob_4kib": expensive_step(),
    }
    out = []
    with busy_processes(busy), ExecutionEngine(workers=2) as eng:
        run_query(hr, "SELECT 1", limits, eng)
        for name, q in queries.items():
            before, t0 = _workers_cpu_s(eng), time.perf_counter()
            a = run_query(hr, q, limits, eng)
            wall, cpu = time.perf_counter() - t0, _workers_cpu_s(eng) - before
            row = {"query": name, "busy": busy, "status": a.status, "answer": a.text, "wall_s": wall, "cpu_s": cpu}
            out.append({**row, "within_limit_plus_grace": cpu <= limits.max_cpu_s + CPU_GRACE_BOUND_S})
    return out


# Linux: writing 5 to /proc/self/clear_refs resets the peak RSS (VmHWM) to the current RSS.
_MEMORY_CHILD = """
import json, sys
from extensions.execution.engine import ExecutionEngine
try:
    from extensions.defaults.tool import ToolLimits
except ImportError:  # a baseline package from before round 3
    from extensions.tool.limits import ToolLimits
from extensions.tool.sql_tool import run_query
def status(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(key + ":"))
db, query = sys.argv[1:3]
with ExecutionEngine(workers=1) as eng:
    run_query(db, "SELECT 1", ToolLimits(), eng)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before = status("VmRSS")
    answer = run_query(db, query, ToolLimits(), eng).text
    peak = status("VmHWM")
print(json.dumps({"rss_before": before, "peak_after": peak, "answer_last_line": answer.splitlines()[-1]}))
"""


def wide_database(path: str) -> str:
    """12 text columns x 99,999 short rows at ``path`` (built once).

    Args:
        path: where the file goes.

    Returns:
        The path.
    """
    if not os.path.exists(path):
        conn = sqlite3.connect(path + ".tmp")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, " + ", ".join(f"c{i} TEXT" for i in range(12)) + ")")
        row = tuple(f"v{i}" for i in range(12))
        conn.executemany("INSERT INTO t VALUES (NULL, " + ", ".join("?" * 12) + ")", [row] * 99_999)
        conn.commit()
        conn.close()
        os.replace(path + ".tmp", path)
    return path


def tool_memory(db: str, package_parent: str) -> dict[str, Any]:
    """Peak RSS growth of a fresh trainer process for one tool call over the wide table.

    Args:
        db: :func:`wide_database`.
        package_parent: the folder holding the ``extensions`` package to measure (this one, or an older checkout).

    Returns:
        ``rss_before``, ``peak_after`` (the peak RSS during the call, Linux's ``VmHWM`` reset just before
        it), ``peak_growth_mb`` and the answer's footer.
    """
    query = "SELECT " + ", ".join(f"c{i}" for i in range(12)) + " FROM t"
    env = {**os.environ, "PYTHONPATH": package_parent}
    p = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, db, query], capture_output=True, text=True, env=env, cwd=package_parent
    )
    if p.returncode != 0:
        raise SystemExit(f"error: the memory child failed: {p.stderr[-500:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    return {**out, "peak_growth_mb": (out["peak_after"] - out["rss_before"]) / 1e6, "package": package_parent}


def cmd_reliability(args: argparse.Namespace) -> dict[str, Any]:
    """``bench reliability``: the three checks of the module docstring.

    Args:
        args: the bench's options (``--busy``, ``--cache-dir``, ``--baseline-package``).

    Returns:
        ``expensive``, ``tool`` (quiet and loaded), ``tool_memory`` and, with ``--baseline-package``,
        ``tool_memory_baseline`` (the same call with an older checkout's package).
    """
    hr = build_demo_databases(os.path.join(args.cache_dir, "demo"))["hr"]
    parent = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["extensions"].__file__)))
    wide = wide_database(os.path.join(args.cache_dir, "wide.sqlite"))
    out = {
        "busy": args.busy,
        "expensive": expensive_battery(hr, args.busy),
        "tool": tool_runaways(hr, 0) + tool_runaways(hr, args.busy),
        "tool_memory": tool_memory(wide, parent),
    }
    if args.baseline_package:
        out["tool_memory_baseline"] = tool_memory(wide, args.baseline_package)
    return out
