"""Verdicts that do not depend on machine load: a VM-step budget, and a wall clock that is never a verdict."""

import os
import signal

import pytest

from extensions.cli.bench.reliability import busy_processes
from extensions.config import RewardConfig
from extensions.execution.engine import ExecutionEngine
from extensions.execution.status import Status
from extensions.rewards.combine import RewardComputer

GOLD = "SELECT count(*) FROM employees"
RUNAWAY = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r"


def counting(n: int, salt: str = "") -> str:
    """A statement whose VM step count grows with ``n`` (the same count every run)."""
    return f"WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < {n}) SELECT count(*) FROM r{salt}"


def _completion(sql: str) -> str:
    return f"<think>t</think><answer>```sql\n{sql}\n```</answer>"


def _batch(hr: str) -> tuple[list[str], list[dict]]:
    heavy_gold = counting(150_000)  # a gold of a few million steps: its predictions get 20x that
    cases = [
        (GOLD, GOLD),
        ("SELECT count(id) FROM employees", GOLD),
        ("SELECT count(*) FROM departments", GOLD),
        ("SELEC 1", GOLD),
        ("SELECT nope FROM employees", GOLD),
        (RUNAWAY, GOLD),
        (RUNAWAY, heavy_gold),
        (counting(150_000), heavy_gold),
        (counting(2_500_000), heavy_gold),
        (counting(3_500_000), heavy_gold),
        ("SELECT name FROM employees ORDER BY salary DESC LIMIT 3",) * 2,
    ]
    return [_completion(p) for p, _ in cases], [{"sql": g, "db_path": hr} for _, g in cases]


def _score(hr: str, **settings) -> list[dict]:
    """Breakdowns from a fresh engine (nothing cached), without the one wall-clock measurement."""
    completions, truths = _batch(hr)
    with ExecutionEngine(workers=2, **settings) as eng:
        results = RewardComputer(RewardConfig(baseline="arctic"), engine=eng).compute_rewards(completions, truths)
    return [{k: v for k, v in r.breakdown.items() if k != "pred_time_ms"} for r in results]


@pytest.mark.slow
def test_the_same_batch_gives_identical_breakdowns_with_and_without_load(demo_paths):
    hr = demo_paths["hr"]
    quiet = _score(hr)
    quiet_workers = _score(hr, inline_budget_ms=0)
    with busy_processes(3):
        loaded = _score(hr)
        loaded_workers = _score(hr, inline_budget_ms=0)
    assert loaded == quiet and loaded_workers == quiet_workers == quiet
    statuses = [max((k for k in b if k.startswith("status_")), key=b.get) for b in quiet]
    # the runaways and the prediction past 20x its gold's steps time out; the one under it runs
    assert statuses[5:10] == ["status_timeout", "status_timeout", "status_ok", "status_ok", "status_timeout"]


@pytest.mark.parametrize("inline_ms", [10.0, 0.0], ids=["inline_lane", "workers_only"])
def test_20_runs_at_99_percent_of_the_budget_pass_and_20_at_101_percent_time_out(demo_paths, inline_ms):
    hr = demo_paths["hr"]
    with ExecutionEngine(workers=1, inline_budget_ms=inline_ms, result_cache_entries=0, gold_cache_entries=0) as eng:
        steps = eng.execute(hr, counting(60_000), max_vm_steps=0).vm_steps
        assert steps > 500_000
        under, over = int(steps / 0.99), int(steps / 1.01)
        for i in range(20):
            r = eng.execute(hr, counting(60_000, f" -- {i}"), max_vm_steps=under)
            assert (r.status, r.rows, r.vm_steps) == (Status.OK, ((60_000,),), steps)
        for i in range(20):
            r = eng.execute(hr, counting(60_000, f" -- {i}"), max_vm_steps=over)
            assert (r.status, r.detail) == (Status.TIMEOUT, f"more than max_vm_steps={over} VM steps")


@pytest.mark.slow
def test_a_stopped_worker_costs_time_never_the_verdict(demo_paths):
    """A worker stopped mid-run (SIGSTOP: swapping, a checkpoint's IO) is killed and the statement retried."""
    hr = demo_paths["hr"]
    # The backstop leaves a fresh worker time to start on a loaded machine; the stopped one is killed after it.
    with ExecutionEngine(workers=1, timeout_s=5.0, grace_s=0.5, inline_budget_ms=0) as eng:
        assert eng.execute(hr, "SELECT 1").status is Status.OK
        (pid,) = eng.stats()["worker_pids"]
        os.kill(pid, signal.SIGSTOP)
        m = eng.match(hr, GOLD, GOLD)  # the gold meets the stopped worker first
        assert (m.match, m.status) == (True, Status.OK)
        assert eng.stats()["worker_restarts"] == 1 and pid not in eng.stats()["worker_pids"]
        later = eng.match(hr, "SELECT count(id) FROM employees", GOLD)
        assert (later.match, later.status) == (True, Status.OK)


def test_a_wall_clock_outcome_is_retried_and_never_cached(demo_paths):
    hr = demo_paths["hr"]
    slowish = counting(100_000)  # over a thousand VM steps: the handler sees the 1 us deadline passed
    with ExecutionEngine(workers=1, timeout_s=1e-6) as eng:
        m = eng.match(hr, slowish, slowish)
        assert m.status is Status.GOLD_ERROR and m.gold.status is Status.TIMEOUT_WALL and not m.match
        assert m.gold.detail.endswith("(twice)") and m.pred.status is Status.TIMEOUT_WALL
        r = eng.execute(hr, slowish)
        assert r.status is Status.TIMEOUT_WALL
        s = eng.stats()
        assert (s["gold_cache"]["entries"], s["result_cache"]["entries"], s["verdict_cache"]["entries"]) == (0, 0, 0)
        assert s["gold_cache"]["misses"] == 1
        # a later call with time to spare gets the real verdict: nothing was remembered
        assert eng.execute(hr, slowish, timeout_s=60).rows == ((100_000,),)


def test_steps_decide_a_runaway_against_a_heavy_gold_with_its_cpu_budget_far_away(demo_paths):
    # The CPU a statement uses per VM step moves with the machine's load (here up to about twice between
    # runs): a CPU budget of only k x the gold's CPU would meet a prediction whose steps cost what the
    # gold's do at the same moment as its step budget, and load would pick the status. The margin keeps
    # the CPU budget several times past what the step budget costs.
    hr = demo_paths["hr"]
    heavy_gold = counting(150_000)
    with ExecutionEngine(workers=1, inline_budget_ms=0) as eng:
        m = eng.match(hr, RUNAWAY, heavy_gold)
    pred, gold = m.pred, m.gold
    assert m.status is Status.TIMEOUT and pred.vm_steps > pred.max_vm_steps == 20 * gold.vm_steps
    assert pred.max_cpu_s == max(1.0, 200 * gold.cpu_s)  # 10 (the margin) x 20 (k) x the gold's CPU, at least 1 s
    assert 3 * pred.cpu_s < pred.max_cpu_s, (pred.cpu_s, pred.max_cpu_s)
