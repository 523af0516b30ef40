import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from extensions._util.cache import ResultCache, approx_bytes
from extensions.data.demo import build_database, demo_examples
from extensions.execution.budget import Budget
from extensions.execution.engine import ExecutionEngine
from extensions.execution.status import Status
from tests.conftest import child_exit_code


def test_match_basic(engine, demo_paths):
    hr = demo_paths["hr"]
    r = engine.match(hr, "SELECT count(id) FROM employees", "SELECT count(*) FROM employees")
    assert r.match and r.status is Status.OK and r.executed
    r = engine.match(hr, "SELECT count(*) FROM departments", "SELECT count(*) FROM employees")
    assert not r.match and r.status is Status.OK and r.detail == "results differ"


def test_gold_error_is_never_a_match(engine, demo_paths):
    hr = demo_paths["hr"]
    bad = "SELECT nosuch FROM employees"
    r = engine.match(hr, bad, bad)
    assert not r.match and r.status is Status.GOLD_ERROR
    r = engine.match(hr, "SELECT 1", bad)
    assert not r.match and r.status is Status.GOLD_ERROR and r.executed


@pytest.mark.parametrize("pred", [None, "", "   ", "SELECT 1"])
def test_a_failing_gold_names_its_own_failure_whatever_the_completion(engine, demo_paths, pred):
    r = engine.match(demo_paths["hr"], pred, "SELECT nosuch FROM employees")
    assert r.status is Status.GOLD_ERROR and not r.match
    assert r.detail.startswith("gold schema_error: ") and "nosuch" in r.detail


def test_empty_guard(engine, demo_paths):
    hr = demo_paths["hr"]
    q = "SELECT name FROM employees WHERE salary < 0"
    assert engine.match(hr, q, q).match
    r = engine.match(hr, q, q, empty_result_is_wrong=True)
    assert not r.match and "empty" in r.detail


def test_missing_prediction(engine, demo_paths):
    r = engine.match(demo_paths["hr"], None, "SELECT 1 FROM employees")
    assert not r.match and r.status is Status.SYNTAX_ERROR


def test_gold_runs_once_per_group_and_duplicates_once(demo_paths):
    hr = demo_paths["hr"]
    with ExecutionEngine(workers=2, adaptive_timeout=False) as eng:
        gold = "SELECT name FROM employees WHERE salary > 100000"
        preds = ["SELECT name FROM employees WHERE salary > 100000"] * 6
        preds += ["SELECT  name\nFROM employees   WHERE salary > 100000 ;"] * 5  # same after normalisation
        preds += ["SELECT name FROM employees WHERE salary > 50000"] * 5
        with ThreadPoolExecutor(6) as ex:
            results = list(ex.map(lambda p: eng.match(hr, p, gold), preds))
        assert [r.match for r in results] == [True] * 11 + [False] * 5
        # The gold once; predictions equal to it (after normalisation) reuse its result;
        # the one distinct wrong prediction runs once.
        s = eng.stats()
        assert s["executions"] == 2
        assert s["gold_cache"]["misses"] == 1


def test_in_flight_duplicates_join(demo_paths, tmp_path):
    hr = demo_paths["hr"]
    slow = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r LIMIT 300000) SELECT count(*) FROM r"
    with ExecutionEngine(workers=2, adaptive_timeout=False) as eng:
        barrier = threading.Barrier(8)

        def call(_):
            barrier.wait()
            return eng.execute(hr, slow)

        with ThreadPoolExecutor(8) as ex:
            results = list(ex.map(call, range(8)))
        assert all(r.rows == ((300000,),) for r in results)
        s = eng.stats()
        assert s["executions"] == 1
        assert s["result_cache"]["joined"] + s["result_cache"]["hits"] == 7


def test_adaptive_step_budget_clamp(demo_paths):
    settings = {
        "workers": 1,
        "timeout_s": 30.0,
        "max_vm_steps": 8_000_000,
        "adaptive_k": 10,
        "adaptive_min_steps": 500_000,
    }
    with ExecutionEngine(**settings) as eng:
        from extensions.execution.status import ExecResult

        assert eng.steps_for(ExecResult(Status.OK, vm_steps=1000)) == 500_000
        assert eng.steps_for(ExecResult(Status.OK, vm_steps=200_000)) == 2_000_000
        assert eng.steps_for(ExecResult(Status.OK, vm_steps=5_000_000)) == 8_000_000
        assert eng.timeout_for(ExecResult(Status.OK, elapsed_s=5.0)) == 30.0  # the wall backstop never adapts
        hr = demo_paths["hr"]
        runaway = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r"
        r = eng.match(hr, runaway, "SELECT count(*) FROM employees")
        assert r.status is Status.TIMEOUT and r.max_vm_steps == 500_000 and r.timeout_s == 30.0
        assert r.detail == "more than max_vm_steps=500000 VM steps"


def test_cached_success_respects_a_smaller_step_budget(demo_paths):
    """A result cached under a larger budget gives what a fresh run under the smaller one gives."""
    hr = demo_paths["hr"]
    slow = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r LIMIT 200000) SELECT count(*) FROM r"
    with ExecutionEngine(workers=1, adaptive_timeout=False) as eng, ExecutionEngine(workers=1) as fresh:
        first = eng.execute(hr, slow, max_vm_steps=10**9)
        assert first.status is Status.OK and first.vm_steps > 100_000
        second = eng.execute(hr, slow, max_vm_steps=first.vm_steps // 2)
        again = fresh.execute(hr, slow, max_vm_steps=first.vm_steps // 2)
        assert second.status is again.status is Status.TIMEOUT and second.detail == again.detail
        assert eng.execute(hr, slow, max_vm_steps=first.vm_steps).status is Status.OK


def test_multiple_databases_must_all_match(tmp_path):
    a = build_database(str(tmp_path / "a.sqlite"), "hr", seed=0)
    b = build_database(str(tmp_path / "b.sqlite"), "hr", seed=1)
    gold = "SELECT count(*) FROM employees WHERE salary > 100000"
    constant = "SELECT count(*) FROM employees WHERE salary > 100000 AND 1 = 1"
    with ExecutionEngine(workers=1) as eng:
        assert eng.match([a, b], constant, gold).match
        only_a = eng.execute(a, gold).rows[0][0]
        hard_coded = f"SELECT {only_a}"
        assert eng.match(a, hard_coded, gold).match
        assert not eng.match([a, b], hard_coded, gold).match


def test_result_cache_is_bounded_by_bytes_and_entries():
    c: ResultCache[int] = ResultCache(max_entries=10, max_bytes=25)
    for i in range(100):
        c.get_or_compute(i, lambda i=i: i, cost=lambda v: 3)
    assert c.stats()["entries"] == 8 and c.stats()["bytes"] == 24
    c2: ResultCache[int] = ResultCache(max_entries=10, max_bytes=10_000)
    for i in range(100):
        c2.get_or_compute(i, lambda i=i: i, cost=lambda v: 1)
    assert len(c2) == 10 and c2.get(99) == 99 and c2.get(0) is None


def test_result_cache_never_keeps_an_entry_over_its_cap():
    c: ResultCache[str] = ResultCache(max_entries=10, max_bytes=1000, max_entry_bytes=100)
    c.put("small", "x", cost=50)
    c.put("big", "y", cost=101)
    assert c.get("small") == "x" and c.get("big") is None and c.stats()["bytes"] == 50


@pytest.mark.parametrize(
    "small, big",
    [
        ("a", "a" * 10_000),
        (b"x", b"x" * 10_000),
        (((1, "a"),), ((1, "a"),) * 1000),
        ({"k": 1}, {str(i): i for i in range(500)}),
    ],
)
def test_approx_bytes_grows_with_the_value(small, big):
    assert approx_bytes(big) >= 10 * approx_bytes(small)
    assert approx_bytes(big) >= 5_000


def test_worker_connection_lru_is_bounded(tmp_path):
    paths = [build_database(str(tmp_path / f"d{i}.sqlite"), "hr", seed=i) for i in range(6)]
    with ExecutionEngine(workers=1, max_open_connections=2, inline_budget_ms=0) as eng:
        for p in paths:
            assert eng.execute(p, "SELECT count(*) FROM employees").status is Status.OK
        stats = eng.pool.worker_stats()
        assert stats and all(s["open_connections"] <= 2 for s in stats)


def test_inline_lane_connections_are_bounded(tmp_path):
    paths = [build_database(str(tmp_path / f"d{i}.sqlite"), "hr", seed=i) for i in range(6)]
    with ExecutionEngine(workers=1, max_open_connections=2) as eng:
        for p in paths:
            assert eng.execute(p, "SELECT count(*) FROM employees").status is Status.OK
        s = eng.stats()
        assert s["worker_executions"] == 0
        assert 1 <= s["inline"]["open_connections"] <= 2 * 2  # two files, two connections each at most


@pytest.mark.parametrize(
    "sql, status",
    [
        # runs past the inline budget: the worker runs it to its step budget
        ("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r", Status.TIMEOUT),
        # values past the inline cap, rows past the inline cap: the worker returns them
        (
            "SELECT length(group_concat(name, '-------------------------------')) || printf('%.9000c', 'x') "
            "FROM employees",
            Status.OK,
        ),
        ("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 12000) SELECT x FROM r", Status.OK),
        # a memory bomb past the worker's own caps still ends as too_large
        ("SELECT zeroblob(100000000)", Status.TOO_LARGE),
    ],
)
def test_inline_lane_hands_over_what_it_cannot_settle(demo_paths, sql, status):
    hr = demo_paths["hr"]
    settings = dict(workers=1, timeout_s=30, max_vm_steps=20_000_000, adaptive_timeout=False, max_value_bytes=1_000_000)
    with ExecutionEngine(**settings) as inline, ExecutionEngine(**settings, inline_budget_ms=0) as worker:
        a = inline.execute(hr, sql)
        b = worker.execute(hr, sql)
        assert a.status is status and b.status is status
        assert (a.rows, a.columns, a.timeout_s) == (b.rows, b.columns, b.timeout_s)
        s = inline.stats()
        assert s["worker_executions"] == 1 and s["inline"]["handed_over"] == 1


def test_slow_database_skips_the_inline_lane(demo_paths):
    hr = demo_paths["hr"]
    slow_gold = (
        "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 3000000) SELECT count(*) FROM r"
    )
    with ExecutionEngine(workers=1, inline_budget_ms=2, adaptive_timeout=False) as eng:
        m = eng.match(hr, "SELECT count(*) FROM employees", slow_gold)
        assert m.status is Status.OK and not m.match
        assert m.gold.rows == ((3000000,),)
        # The gold overran the inline budget and its prediction went straight to a worker.
        s = eng.stats()
        assert s["inline"]["handed_over"] == 1 and s["worker_executions"] == 2
        assert s["inline"]["slow_databases"] == 1
        # A fast gold on the same file puts it back on the inline lane.
        eng.match(hr, "SELECT 1", "SELECT 2")
        assert eng.stats()["inline"]["slow_databases"] == 0


@pytest.mark.parametrize("ttl", [0.0, 0.2])
def test_database_change_is_noticed(tmp_path, ttl):
    p = str(tmp_path / "d.sqlite")
    build_database(p, "hr", seed=0)
    gold = "SELECT sum(salary) FROM employees"
    with ExecutionEngine(workers=1, stat_ttl_s=ttl) as eng:
        a = eng.execute(p, gold).rows
        assert eng.match(p, gold, gold).match
        time.sleep(0.01 + ttl * 1.5)  # past the signature's time to live
        build_database(p, "hr", seed=5)
        b = eng.execute(p, gold).rows
        assert a != b
        m = eng.match(p, gold, gold)  # not the memoised verdict of the old file
        assert m.match and m.gold.rows == b


def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
def test_timeout_leaves_nothing_burning(demo_paths):
    hr = demo_paths["hr"]
    runaway = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r"
    with ExecutionEngine(workers=1, timeout_s=30, max_vm_steps=20_000_000, adaptive_timeout=False) as eng:
        r = eng.execute(hr, runaway)
        assert r.status is Status.TIMEOUT
        pids = eng.pool.pids()
        before = {p: _cpu_ticks(p) for p in pids}
        time.sleep(0.5)
        after = {p: _cpu_ticks(p) for p in pids}
        assert all(after[p] - before[p] <= 2 for p in pids), (before, after)  # idle: < 20 ms of CPU in 0.5 s


def _wait_until_busy(eng: ExecutionEngine, ticks: int = 5) -> None:
    """Poll until some worker has used ``ticks`` clock ticks of CPU (it is running the query)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(_cpu_ticks(p) >= ticks for p in eng.pool.pids()):
            return
        time.sleep(0.01)
    pytest.fail("no worker became busy")


def test_hung_worker_is_killed_and_replaced(demo_paths):
    """A worker stuck outside SQLite's VM (simulated with SIGSTOP) is killed at timeout + grace; the
    statement is tried once more on a fresh worker, so the stall costs time, never the verdict."""
    hr = demo_paths["hr"]
    with ExecutionEngine(
        workers=1, timeout_s=3.0, grace_s=0.3, adaptive_timeout=False, result_cache_entries=0, inline_budget_ms=0
    ) as eng:
        assert eng.execute(hr, "SELECT 1").status is Status.OK
        (pid,) = eng.stats()["worker_pids"]
        os.kill(pid, signal.SIGSTOP)
        r = eng.execute(hr, "SELECT count(*) FROM employees")
        assert r.status is Status.OK and r.rows == ((60,),)
        assert eng.stats()["worker_restarts"] == 1
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone for good
        assert eng.execute(hr, "SELECT count(*) FROM employees").rows == ((60,),)


def test_killing_a_worker_mid_query_recovers(demo_paths):
    hr = demo_paths["hr"]
    slow = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r"
    settings = {"workers": 2, "timeout_s": 20, "max_vm_steps": 50_000_000, "adaptive_timeout": False}
    with ExecutionEngine(**settings, result_cache_entries=0) as eng:
        eng.execute(hr, "SELECT 1")
        out = {}
        th = threading.Thread(target=lambda: out.setdefault("r", eng.execute(hr, slow)))
        th.start()
        _wait_until_busy(eng)
        for pid in eng.pool.pids():
            os.kill(pid, signal.SIGKILL)
        th.join(60)
        assert not th.is_alive()
        assert out["r"].status is Status.TIMEOUT  # a death is no verdict: tried once more, to its step budget
        examples = [e for e in demo_examples() if e["db_id"] == "hr"][:20]
        for e in examples:
            assert eng.match(hr, e["query"], e["query"]).match


def test_many_threads_same_results_as_sequential(demo_paths):
    examples = demo_examples()
    items = []
    for i, e in enumerate(examples):
        pred = e["query"] if i % 3 else examples[(i + 1) % len(examples)]["query"]
        items.append((demo_paths[e["db_id"]], pred, e["query"]))
    with ExecutionEngine(workers=2, adaptive_timeout=False) as eng:
        sequential = [eng.match(*it).match for it in items]
        assert any(sequential) and not all(sequential)

        def worker(t: int) -> list[bool]:
            out = []
            for k in range(1000):
                j = (t * 7919 + k) % len(items)
                out.append((j, eng.match(*items[j]).match))
            return out

        with ThreadPoolExecutor(64) as ex:
            futures = [ex.submit(worker, t) for t in range(64)]
            for f in futures:
                for j, m in f.result(timeout=300):
                    assert m == sequential[j]
    # Uncached: every call really runs its statements, in the inline lane (its two connections per
    # file shared by 16 threads, the overflow sent to workers) or, with the lane off, in the pool.
    for inline_ms in (10.0, 0.0):
        with ExecutionEngine(
            workers=2,
            adaptive_timeout=False,
            result_cache_entries=0,
            gold_cache_entries=0,
            verdict_cache_entries=0,
            inline_budget_ms=inline_ms,
        ) as eng:
            with ThreadPoolExecutor(16) as ex:
                got = list(ex.map(lambda it: eng.match(*it).match, items * 2))
            assert got == sequential * 2
            assert (
                eng.stats()["executions"] > len(items) * 2
            )  # more than one statement run per call: nothing was cached
            if inline_ms:
                assert eng.stats()["inline"]["open_connections"] <= 2 * len(demo_paths)


def test_engine_closed_is_clear(demo_paths):
    from extensions.errors import EngineClosedError

    eng = ExecutionEngine(workers=1)
    eng.close()
    with pytest.raises(EngineClosedError):
        eng.pool.execute(demo_paths["hr"], "SELECT 1", Budget(timeout_s=1.0))


def test_works_with_more_than_1024_open_descriptors(demo_paths):
    """Trainer processes (Ray actors) can hold many descriptors; select() would fail past 1024."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1300:
        if hard != resource.RLIM_INFINITY and hard < 1300:
            pytest.skip("cannot open 1,300 descriptors here")
        resource.setrlimit(resource.RLIMIT_NOFILE, (1300, hard))
    fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with ExecutionEngine(workers=1, result_cache_entries=0) as eng:
            assert eng.execute(demo_paths["hr"], "SELECT count(*) FROM employees").rows == ((60,),)
    finally:
        for fd in fds:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT name FROM employees",
        "SELEC name FROM employees",
        "SELECT nope FROM employees",
        "SELECT name FROM nowhere",
        "DELETE FROM employees",
        "SELECT 1; SELECT 2",
        "CREATE TEMP VIEW employees AS SELECT 1",
        "PRAGMA writable_schema=1",
        "",
    ],
)
def test_inline_lane_gives_the_same_result_as_the_worker(demo_paths, sql):
    hr = demo_paths["hr"]
    with ExecutionEngine(workers=1) as inline, ExecutionEngine(workers=1, inline_budget_ms=0) as worker:
        a, b = inline.execute(hr, sql), worker.execute(hr, sql)
        assert (a.status, a.rows, a.columns, a.detail) == (b.status, b.rows, b.columns, b.detail)
        assert a.timeout_s == b.timeout_s
        if sql:
            assert inline.stats()["worker_executions"] == 0  # settled in the calling thread, no worker round trip
            assert worker.stats()["worker_executions"] == 1


@pytest.mark.parametrize("pred", [None, ["SELECT 1"], b"SELECT 1", 42])
def test_non_text_predictions_are_defined(demo_paths, pred):
    with ExecutionEngine(workers=1) as eng:
        for _ in range(2):  # the second call goes through the verdict cache where it applies
            m = eng.match(demo_paths["hr"], pred, "SELECT count(*) FROM employees")
            assert m.status is Status.SYNTAX_ERROR and not m.match


def test_match_many_gives_the_per_sample_verdicts(demo_paths):
    examples = demo_examples()[:120]
    items = []
    for i, e in enumerate(examples):
        path = demo_paths[e["db_id"]]
        pred = [e["query"], examples[(i + 1) % len(examples)]["query"], "SELEC 1", None, "SELECT nope FROM t"][i % 5]
        items.append((path, pred, e["query"]))
    items.append(
        ([demo_paths["hr"], demo_paths["hr"]], "SELECT count(*) FROM employees", "SELECT count(*) FROM employees")
    )
    items.append(("/missing.sqlite", "SELECT 1", "SELECT 1"))
    items.append((demo_paths["hr"], "SELECT 1", ""))
    items += items[:12] + items[-3:]  # a GRPO group repeats items: each distinct one is matched once, same verdicts
    count = "SELECT count(*) FROM employees"
    items.append(([demo_paths["hr"], demo_paths["store"]], count, count))
    with ExecutionEngine(workers=2) as batch, ExecutionEngine(workers=2) as single:
        got = batch.match_many(items, semantics="spider")
        want = [single.match(p, q, g, semantics="spider") for p, q, g in items]
        assert [(m.match, m.status, m.detail) for m in got] == [(m.match, m.status, m.detail) for m in want]
        assert batch.stats()["executions"] <= single.stats()["executions"]
        before = batch.stats()["executions"]
        batch.match_many(items)  # everything is cached now
        assert batch.stats()["executions"] == before


def test_a_batch_memoises_only_the_verdicts_whose_gold_result_is_large(demo_paths):
    """Comparing a few rows costs less than memoising the verdict; a large result's comparison is kept."""
    hr, small = demo_paths["hr"], "SELECT count(*) FROM employees"
    large = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r LIMIT 2000) SELECT x FROM r"
    items = [(hr, small, small), (hr, "SELECT 1", small), (hr, large, large), (hr, "SELECT 2", large)]
    with ExecutionEngine(workers=1) as batch, ExecutionEngine(workers=1) as single:
        got = batch.match_many(items)
        want = [single.match(*item) for item in items]
        assert [(m.match, m.status) for m in got] == [(m.match, m.status) for m in want]
        assert [m.match for m in got] == [True, False, True, False]
        assert batch.stats()["verdict_cache"]["entries"] == 2  # the two on the 2,000-row gold
        assert single.stats()["verdict_cache"]["entries"] == 4  # a call outside a batch memoises every verdict
        again = batch.match_many(items)
        assert [(m.match, m.status) for m in again] == [(m.match, m.status) for m in got]
        assert batch.stats()["verdict_cache"]["hits"] == 2


def test_match_many_settles_in_the_lane_first_and_overlaps_runaways_in_workers(demo_paths):
    """The batch path runs each statement once: in the lane when it can, otherwise in a worker."""
    hr = demo_paths["hr"]
    runaway = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + {i} FROM r) SELECT count(*) FROM r"
    gold = "SELECT count(*) FROM employees"
    items = [(hr, gold, gold), (hr, "SELECT name FROM departments", gold), (hr, "SELEC 1", gold)]
    items += [(hr, runaway.format(i=i), gold) for i in (1, 2)]
    with ExecutionEngine(workers=2, timeout_s=30, max_vm_steps=20_000_000, adaptive_timeout=False) as eng:
        got = eng.match_many(items)
        assert [m.status for m in got] == [Status.OK, Status.OK, Status.SYNTAX_ERROR, Status.TIMEOUT, Status.TIMEOUT]
        assert [m.match for m in got] == [True, False, False, False, False]
        s = eng.stats()
        assert s["executions"] == 5  # gold, two predictions, two runaways; each once
        assert s["worker_executions"] == 2 and s["inline"]["handed_over"] == 2  # only the runaways


def test_match_async_gathered_gives_the_per_sample_verdicts(demo_paths):
    """Calls awaited together on one event loop become one batch (per set of options)."""
    import asyncio

    examples = demo_examples()[:60]
    items = []
    for i, e in enumerate(examples):
        pred = [e["query"], examples[(i + 1) % len(examples)]["query"], "SELEC 1", None][i % 4]
        items.append((demo_paths[e["db_id"]], pred, e["query"], ["spider", "bird"][i % 2]))
    items.append(("/missing.sqlite", "SELECT 1", "SELECT 1", "spider"))

    async def gathered(eng):
        return await asyncio.gather(*(eng.match_async(p, q, g, semantics=sem) for p, q, g, sem in items))

    with ExecutionEngine(workers=2) as a, ExecutionEngine(workers=2) as b:
        got = asyncio.run(gathered(a))
        want = [b.match(p, q, g, semantics=sem) for p, q, g, sem in items]
        assert [(m.match, m.status, m.detail) for m in got] == [(m.match, m.status, m.detail) for m in want]
        assert a.stats()["match_async"] == {"batches": 1, "calls": len(items)}
        with pytest.raises(ValueError):
            asyncio.run(a.match_async(demo_paths["hr"], "SELECT 1", "SELECT 1", semantics="nope"))  # type: ignore[arg-type]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_gets_a_fresh_engine_and_leaves_the_parents_alone(demo_paths):
    """A child forked while another thread is mid-query (its worker busy, its computation in flight)
    neither hangs on the parent's state nor talks to or kills the parent's workers."""
    hr = demo_paths["hr"]
    gold = "SELECT count(*) FROM employees"
    runaway = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r"
    with ExecutionEngine(workers=1, inline_budget_ms=0) as eng:
        assert eng.match(hr, gold, gold).match
        (parent_worker,) = eng.pool.pids()
        busy = threading.Thread(target=eng.execute, args=(hr, runaway), kwargs={"timeout_s": 2.0})
        busy.start()
        _wait_until_busy(eng)
        pid = os.fork()
        if pid == 0:  # the child
            ok = False
            try:
                m = eng.match(hr, "SELECT count(id) FROM employees", gold)
                ok = m.match and parent_worker not in eng.pool.pids() and len(eng.pool.pids()) == 1
            finally:
                os._exit(0 if ok else 1)
        busy.join()
        assert child_exit_code(pid, "the forked child hung") == 0
        os.kill(parent_worker, 0)  # still alive
        assert eng.pool.pids() == [parent_worker]
        assert eng.match(hr, "SELECT count(*) + 0 FROM employees", gold).match


@pytest.mark.parametrize(
    "gold, status", [("SELECT count(*) FROM employees", Status.TOO_LARGE), ("SELECT nope FROM t", Status.GOLD_ERROR)]
)
def test_a_prediction_over_max_sql_bytes_is_too_large_and_never_cached(demo_paths, gold, status):
    hr = demo_paths["hr"]
    huge = "SELECT DISTINCT 1 " + "-- padding\n" * 200_000
    with ExecutionEngine(workers=1, max_sql_bytes=1_000_000) as eng:
        m = eng.match(hr, huge, gold)
        assert m.status is status and not m.match and m.pred.status is Status.TOO_LARGE
        s = eng.stats()
        assert s["verdict_cache"]["entries"] == 0 and s["result_cache"]["entries"] == 0
