"""The tool's limit is a work budget, its answers are bounded and history-free, and big results stay in the worker.

Costs are asserted in CPU seconds (the workers' ``/proc`` clocks) and bytes (frames read, Python allocations),
never in wall-clock time; the runaway checks run quiet and beside busy processes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tracemalloc

import pytest

from extensions.cli.bench.reliability import busy_processes
from extensions.config import RewardConfig, load_config
from extensions.defaults.tool import ToolLimits
from extensions.execution.engine import ExecutionEngine
from extensions.execution.worker import CPU_GRACE_S
from extensions.rewards.combine import RewardComputer
from extensions.tool.sql_tool import SqlSession, budget_spent_text, run_query
from tests.execution.test_cpu_budget import UNINTERRUPTIBLE, expensive_step, workers_cpu_s
from tests.tool.test_sql_tool import CASES

# 100 ns of CPU per VM step: ordinary steps reach the step budget long before the CPU budget, loaded or not
LIMITS = ToolLimits(max_calls=1000, max_vm_steps=5_000_000, max_cpu_s=0.5, max_query_chars=10_000)
GRACE_S = 0.25  # CPU seconds past the stated limit: one step past the budget, the watchdog's wake-up, /proc ticks
RUNAWAYS = [
    ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", "work budget"),
    ("SELECT count(*) FROM employees a, employees b, employees c, employees d, employees e", "work budget"),
    (UNINTERRUPTIBLE, "CPU seconds"),
    (expensive_step(), "CPU seconds"),
]


@pytest.mark.parametrize("busy", [0, 3], ids=["quiet", "loaded"])
@pytest.mark.parametrize("query,limit", RUNAWAYS, ids=["recursive_cte", "join_60_to_the_5", "printf", "glob_4kib"])
def test_a_runaway_call_says_which_limit_ended_it_and_costs_at_most_that(demo_paths, query, limit, busy):
    with contextlib.ExitStack() as stack:
        if busy:
            stack.enter_context(busy_processes(busy))
        eng = stack.enter_context(ExecutionEngine(workers=1))
        # A statement the inline lane hands to a worker (a growing function) starts the worker, so that
        # its start-up (an interpreter and imports) is not counted as the runaway's cost.
        assert run_query(demo_paths["hr"], "SELECT printf('%d', 1)", LIMITS, eng).ok
        assert len(eng.stats()["worker_pids"]) == 1
        before, restarts = workers_cpu_s(eng), eng.stats()["worker_restarts"]
        a = run_query(demo_paths["hr"], query, LIMITS, eng)
        used = workers_cpu_s(eng) - before
        ended = eng.stats()["worker_restarts"] - restarts  # a step SQLite cannot interrupt: the worker ends itself
        if limit == "work budget":
            assert (a.status, a.text) == (
                "timeout",
                "error: stopped at the tool's work budget of 5000000 VM steps; simplify the query or add a LIMIT",
            )
        else:
            assert (a.status, a.text) == (
                "timeout_cpu",
                "error: stopped at the tool's budget of 0.5 CPU seconds; simplify the query or add a LIMIT",
            )
        cpu = LIMITS.max_cpu_s
        assert used <= (cpu + min(cpu, CPU_GRACE_S) + 0.1 if ended else cpu + GRACE_S), used
        assert eng.stats()["worker_retries"] == 0


@pytest.mark.parametrize("max_chars", [64, 100, 1200])
def test_every_answer_fits_max_chars(demo_paths, engine, max_chars):
    limits = ToolLimits(max_calls=1, max_chars=max_chars, max_vm_steps=10**6, max_cpu_s=0.5)
    answers = [run_query(demo_paths["hr"], c["query"], limits, engine).text for c in CASES]
    answers += [run_query(None, "SELECT 1", limits, engine).text, budget_spent_text(limits)]
    answers.append(
        run_query(
            demo_paths["hr"], "SELECT " + ", ".join(f"'{'x' * 50}' AS c{i}" for i in range(40)), limits, engine
        ).text
    )
    session = SqlSession(demo_paths["hr"], limits, engine)
    answers += [session.execute_sql("SELECT nme FROM employees"), session.execute_sql("SELECT 1")]
    assert all(len(a) <= max_chars for a in answers), [a for a in answers if len(a) > max_chars]
    assert all(a.startswith("error: ") for a in answers[-2:] + answers[-5:-3])


def test_the_same_query_gets_the_same_answer_whatever_ran_before(demo_paths):
    """Six probes: the reward and other episodes fill the engine's caches with case variants first."""
    hr = demo_paths["hr"]
    probes = [
        "SELECT COUNT(*) FROM employees",
        "SELECT count(*) FROM employees",
        "select Count(*)  from employees",
        "SELECT Name FROM employees ORDER BY id LIMIT 2",
        "SELECT name FROM employees ORDER BY id LIMIT 2",
        "SELECT nme FROM employees",
    ]
    with ExecutionEngine(workers=1) as fresh:
        expected = [run_query(hr, q, LIMITS, fresh) for q in probes]
    with ExecutionEngine(workers=1) as eng:
        computer = RewardComputer(RewardConfig(baseline="arctic"), engine=eng)
        for q in reversed(probes):  # the reward's predictions fill the same caches
            computer.compute_reward(f"```sql\n{q.upper()}\n```", {"sql": q.lower(), "db_path": hr})
            run_query(hr, q.swapcase(), LIMITS, eng)
        assert [run_query(hr, q, LIMITS, eng) for q in probes] == expected
    assert [a.text.splitlines()[0] for a in expected[:3]] == ["COUNT(*)", "count(*)", "Count(*)"]


@pytest.fixture(scope="module")
def wide_db(tmp_path_factory) -> str:
    """12 columns x 99,999 short rows."""
    path = str(tmp_path_factory.mktemp("wide") / "wide.sqlite")
    conn = sqlite3.connect(path)
    cols = ", ".join(f"c{i} TEXT" for i in range(12))
    conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {cols})")
    row = tuple(f"v{i}" for i in range(12))
    conn.executemany(f"INSERT INTO t VALUES (NULL, {', '.join('?' * 12)})", [row] * 99_999)
    conn.commit()
    conn.close()
    return path


def test_a_big_result_stays_in_the_worker_and_the_answer_counts_every_row(wide_db):
    """The answer shows 10 rows; only those cross the pipe, and the trainer allocates little for the call."""
    limits = ToolLimits(max_calls=5)
    with ExecutionEngine(workers=1) as eng:
        assert run_query(wide_db, "SELECT 1", limits, eng).ok
        received = eng.stats()["worker_bytes_received"]
        tracemalloc.start()
        a = run_query(wide_db, "SELECT c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11 FROM t", limits, eng)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        sent = eng.stats()["worker_bytes_received"] - received
    assert a.ok and a.text.splitlines()[-1] == "(99999 rows; first 10 shown)" and len(a.text.splitlines()) == 12
    assert sent <= 4096  # 10 rows of 12 short cells, not the 99,999 rows (several MB)
    assert peak <= 2 * 1024 * 1024  # the lane's first attempt reads rows 1,024 at a time and keeps 10


def test_a_cut_blob_says_so_and_long_text_is_cut_in_the_worker(demo_paths, engine):
    a = run_query(
        demo_paths["hr"], "SELECT zeroblob(100000) AS b, hex(zeroblob(5000)) AS h, x'0102' AS s", LIMITS, engine
    )
    line = a.text.splitlines()[1]
    assert line == "<blob 41+ bytes> | " + "0" * 39 + "… | <blob 2 bytes>"


def test_limits_come_from_the_config():
    limits = load_config(
        overrides=["multi_turn.max_cpu_s=1.5", "multi_turn.max_vm_steps=5000"]
    ).multi_turn.tool_limits()
    assert (limits.max_cpu_s, limits.max_vm_steps, limits.timeout_s) == (1.5, 5000, 30.0)
