"""The CPU budget: statements whose single VM steps are expensive stop at their CPU seconds, on every path.

Every assertion is on statuses, details and CPU seconds (the worker's own clock and ``/proc``), never on
wall-clock time; the expensive-step tests run beside busy processes.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import time

import pytest

from extensions.cli.bench.reliability import busy_processes
from extensions.execution.budget import Budget
from extensions.execution.engine import ExecutionEngine
from extensions.execution.pool import WorkerPool, process_cpu_s
from extensions.execution.status import ExecResult, Status
from extensions.integrations.verl.hook import compute_score, compute_score_batch

GOLD = "SELECT count(*) FROM employees"
# 4,096 characters none of which is in the text: every GLOB call scans the class for each of 4,096 positions
# (tens of milliseconds per call, a few VM steps), so the step budget alone would take hours to stop it.
_CLASS = "".join(chr(0x4E00 + i) for i in range(4096))


def expensive_step(salt: int = 0) -> str:
    """A statement of GLOB calls against a 4 KiB character class, over a 3,600-row join (``salt`` makes it new)."""
    return (
        "WITH RECURSIVE s(x) AS (SELECT 'a' UNION ALL SELECT x || x FROM s WHERE length(x) < 4096), "
        "big(x) AS (SELECT x FROM s WHERE length(x) >= 4096) "
        f"SELECT count(*) FROM big, employees e1, employees e2 WHERE big.x || e1.name GLOB '*[{_CLASS}]' "
        f"AND e2.id > {-1 - salt}"
    )


UNINTERRUPTIBLE = "SELECT printf('%.*c', 2000000000, 'x') IS NULL"  # one VM step that pads for seconds


def workers_cpu_s(eng: ExecutionEngine) -> float:
    """CPU seconds of the engine's live workers plus every child process reaped so far (a worker that ended)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return sum(process_cpu_s(pid) or 0.0 for pid in eng.stats()["worker_pids"]) + usage.ru_utime + usage.ru_stime


def test_an_expensive_step_statement_stops_at_its_cpu_budget_beside_busy_processes(demo_paths):
    hr = demo_paths["hr"]
    with busy_processes(3), ExecutionEngine(workers=1, inline_budget_ms=0) as eng:
        assert eng.execute(hr, "SELECT 1").ok
        (pid,) = eng.stats()["worker_pids"]
        before = process_cpu_s(pid)
        r = eng.execute(hr, expensive_step(), max_cpu_s=0.5)
        used = process_cpu_s(pid) - before
        assert (r.status, r.detail, r.max_cpu_s) == (Status.TIMEOUT_CPU, "more than max_cpu_s=0.5 CPU seconds", 0.5)
        assert 0.5 <= r.cpu_s <= 1.0 and used <= 1.0 + 0.05  # at most about twice the budget, in the worker's CPU
        stats = eng.stats()
        assert (stats["worker_retries"], stats["worker_restarts"]) == (0, 0)  # never a retry
        assert eng.execute(hr, "SELECT 2").rows == ((2,),)  # the same worker serves the next statement


def test_a_step_sqlite_cannot_interrupt_ends_the_worker_at_twice_the_budget(demo_paths):
    hr = demo_paths["hr"]
    with ExecutionEngine(workers=1, inline_budget_ms=0) as eng:
        assert eng.execute(hr, "SELECT 1").ok
        (pid,) = eng.stats()["worker_pids"]
        before = workers_cpu_s(eng)
        r = eng.execute(hr, UNINTERRUPTIBLE, max_cpu_s=0.3)
        used = workers_cpu_s(eng) - before
        assert (r.status, r.detail) == (Status.TIMEOUT_CPU, "more than max_cpu_s=0.3 CPU seconds")
        stats = eng.stats()
        assert stats["worker_retries"] == 0 and pid not in stats["worker_pids"]
        assert used <= 0.6 + 0.1  # at most about twice its budget (slack: /proc ticks, the watchdog's wake-up)
        assert eng.execute(hr, "SELECT 3").rows == ((3,),)


def test_a_prediction_gets_k_times_its_golds_cpu_with_a_floor_and_the_verdict_is_cached(demo_paths):
    hr = demo_paths["hr"]
    with ExecutionEngine(workers=1, adaptive_min_cpu_s=0.3, inline_budget_ms=10) as eng:
        # 10 (the margin) x 20 (k) x the gold's CPU seconds
        assert eng.cpu_for(ExecResult(Status.OK, cpu_s=0.005)) == pytest.approx(1.0)
        assert eng.cpu_for(ExecResult(Status.OK, cpu_s=0.0001)) == 0.3  # the floor
        assert eng.cpu_for(ExecResult(Status.OK, cpu_s=10.0)) == 30.0  # max_cpu_s
        thread_cpu = time.thread_time()
        m = eng.match(hr, expensive_step(1), GOLD)
        assert (m.status, m.max_cpu_s, m.pred.max_cpu_s) == (Status.TIMEOUT_CPU, 0.3, 0.3) and not m.match
        assert time.thread_time() - thread_cpu <= 0.25  # the caller's own CPU: one lane attempt at most
        runs = eng.stats()["executions"]
        again = eng.match(hr, expensive_step(1), "SELECT count(id) FROM employees")  # another gold, the same floor
        assert again.status is Status.TIMEOUT_CPU and eng.stats()["executions"] == runs + 1  # only the new gold ran


def test_a_stall_is_told_from_a_cpu_outcome_by_the_cpu_the_attempt_used():
    class Stub:
        def __init__(self, used: float | None) -> None:
            self.used = used

        def cpu_since_mark(self) -> float | None:
            return self.used

    pool = WorkerPool(1)  # no worker is started: the decision alone
    budget = Budget(max_vm_steps=10**6, max_cpu_s=0.5, timeout_s=2.0)
    worked, retry = pool._unanswered(Stub(0.8), budget)
    assert (worked.status, worked.detail, retry) == (Status.TIMEOUT_CPU, "more than max_cpu_s=0.5 CPU seconds", False)
    for used in (0.01, None):  # stopped or swapped out (or no /proc): a stall, tried once more
        stalled, retry = pool._unanswered(Stub(used), budget)
        assert stalled.status is Status.TIMEOUT_WALL and retry
    pool.close()


def test_a_call_waits_for_a_free_worker_no_longer_than_the_queue_ahead_of_it(demo_paths):
    hr = demo_paths["hr"]
    with ExecutionEngine(workers=1, grace_s=0.3, inline_budget_ms=0) as eng:
        held = eng.pool._acquire(5.0)  # a stuck holder: nothing queued before the call, one hold's wait
        try:
            t0 = time.monotonic()
            r = eng.execute(hr, "SELECT 1", timeout_s=0.2)
            waited = time.monotonic() - t0
            assert (r.status, r.detail) == (Status.TIMEOUT_WALL, "no sandbox worker free within 1 s")
            assert 1.0 <= waited < 5.0
        finally:
            eng.pool._release(held, True)
        assert eng.execute(hr, "SELECT 1", timeout_s=0.2).rows == ((1,),)  # not cached: the next call runs it


def test_the_wait_for_a_worker_grows_with_the_calls_queued_before_it():
    pool = WorkerPool(2, grace_s=0.5)  # no worker is started: the rule alone
    assert [pool.wait_limit(1.0, ahead) for ahead in (0, 1, 2, 5)] == [3.0, 3.0, 6.0, 9.0]
    pool.close()


COUNT_TO = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < {n}) SELECT count(*) FROM c"


@pytest.mark.slow
def test_calls_queued_behind_slow_statements_are_not_cut_short(demo_paths):
    """One worker, 8 calls at once, each about a third of its own timeout: the last waits for 7 holds.

    Waiting only the call's own ``timeout_s`` for a worker, the later calls would end ``timeout_wall``
    on a busy pool; the queue-aware limit lets every one of them run and give its verdict.
    """
    from concurrent.futures import ThreadPoolExecutor

    hr = demo_paths["hr"]
    sql = [COUNT_TO.format(n=1_000_000 + i) for i in range(8)]  # distinct: no cache
    with ExecutionEngine(workers=1, grace_s=0.5, inline_budget_ms=0) as eng:
        with ThreadPoolExecutor(8) as ex:
            results = list(ex.map(lambda q: eng.execute(hr, q, timeout_s=1.5, max_cpu_s=0), sql))
    assert [r.rows for r in results] == [((1_000_000 + i,),) for i in range(8)]


@pytest.mark.slow
def test_a_stopped_worker_is_still_retried_once(demo_paths):
    """SIGSTOP: no CPU used in the attempt, so the wall deadline is a stall, retried on a fresh worker."""
    hr = demo_paths["hr"]
    with ExecutionEngine(workers=1, timeout_s=3.0, grace_s=0.5, inline_budget_ms=0) as eng:
        assert eng.execute(hr, "SELECT 1").ok
        (pid,) = eng.stats()["worker_pids"]
        os.kill(pid, signal.SIGSTOP)
        r = eng.execute(hr, GOLD, max_cpu_s=0.5)
        assert r.rows == ((60,),)
        assert (eng.stats()["worker_retries"], eng.stats()["worker_restarts"]) == (1, 1)


@pytest.mark.slow
def test_three_expensive_steps_then_a_batch_of_8_cost_the_caller_little_cpu_beside_busy_processes(demo_paths):
    """The reliability battery's CPU half (its wall-clock half: ``python -m extensions.cli.bench.reliability``)."""
    hr = demo_paths["hr"]
    overrides = ["execution.max_vm_steps=1000000000", "execution.adaptive_min_cpu_s=1.0"]
    gold = {"sql": GOLD, "db_path": hr}

    def completion(sql: str) -> str:
        return f"<think>t</think><answer>```sql\n{sql}\n```</answer>"

    with busy_processes(4):
        for i in range(3):
            t0 = time.thread_time()
            b = compute_score("bench", completion(expensive_step(100 + i)), gold, overrides=overrides)
            assert b["status_timeout_cpu"] == 1.0 and b["acc"] == 0.0
            assert time.thread_time() - t0 <= 0.25
        sols = [completion(expensive_step(200 + i)) for i in range(8)]
        t0 = time.thread_time()
        out = compute_score_batch(None, sols, [gold] * 8, None, overrides=overrides)
        assert [b["status_timeout_cpu"] for b in out] == [1.0] * 8
        assert time.thread_time() - t0 <= 0.25 * 8


def test_a_pool_of_many_more_workers_than_cores_is_warned_about_once(caplog):
    size = 4 * (os.cpu_count() or 1) + 3  # past 4 per core; no worker is started
    with caplog.at_level(logging.WARNING, logger="extensions.execution.pool"):
        pools = [WorkerPool(size), WorkerPool(size)]
    warned = [r.getMessage() for r in caplog.records if "worker processes" in r.getMessage()]
    assert len(warned) == 1 and warned[0].startswith(f"execution.workers={size} on a machine with ")
    for pool in pools:
        pool.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="extensions.execution.pool"):
        WorkerPool(os.cpu_count() or 1).close()
    assert not caplog.records
