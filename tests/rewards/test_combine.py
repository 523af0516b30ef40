import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extensions.config import RewardConfig
from extensions.data.layout import parse_ground_truth
from extensions.rewards.combine import RewardComputer

GOLD = "SELECT name FROM employees WHERE salary > 100000 ORDER BY name"
CORRECT_SQL = [
    GOLD,
    "SELECT name FROM employees WHERE salary > 100000.0 ORDER BY name ASC",
    "SELECT e.name FROM employees AS e WHERE NOT e.salary <= 100000 ORDER BY e.name",
]
WRONG_SQL = [
    "SELECT name FROM employees WHERE salary > 100000",  # order lost? (spider: gold has ORDER BY)
    "SELECT name FROM employees WHERE salary > 50000 ORDER BY name",
    "SELECT name, salary FROM employees WHERE salary > 100000 ORDER BY name",
    "SELECT name FROM employes WHERE salary > 100000 ORDER BY name",
    "SELECT nme FROM employees WHERE salry > 100000 ORDER BY name",
    "SELECT name FROM employees WHERE salary > 100000 ORDER BY name DESC",
    "SELEC name FROM employees",
    "DELETE FROM employees",
    "SELECT 1",
    "",
]


def completion(sql: str, fmt: str) -> str:
    if fmt == "good":
        return f"<think>reasoning</think><answer>```sql\n{sql}\n```</answer>"
    if fmt == "bad":
        return f"<answer>```sql\n{sql}\n```</answer><answer>"
    return sql


@pytest.fixture(scope="module")
def gt(demo_paths):
    return {"sql": GOLD, "db_path": demo_paths["hr"]}


def test_same_keys_and_finite_values(engine, gt):
    for preset in ("sql_r1", "arctic", "reasoning_sql", "combined"):
        c = RewardComputer(RewardConfig(enable_enhanced=True, baseline=preset), engine=engine)
        inputs = [completion(s, "good") for s in CORRECT_SQL + WRONG_SQL] + [
            None,
            b"\xff\x00",
            3,
            "x" * 200_000,
            "\ud800",
        ]
        keys = None
        for out in inputs:
            r = c.compute_reward(out, gt)
            assert all(isinstance(v, float) and math.isfinite(v) for v in r.breakdown.values())
            keys = keys or list(r.breakdown)
            assert list(r.breakdown) == keys
        for bad_gt in (
            None,
            {},
            {"sql": None},
            {"db_id": "x"},
            42,
            {"sql": "SELECT nope FROM nowhere", "db_path": gt["db_path"]},
            {"sql": GOLD, "db_path": "/missing.sqlite"},
            {"sql": GOLD, "db_id": "hr"},
        ):
            r = c.compute_reward(completion(GOLD, "good"), bad_gt)
            assert list(r.breakdown) == keys
            assert r.correct is False and r.acc == 0.0


def test_gold_error_is_never_correct(engine, gt):
    c = RewardComputer(RewardConfig(enable_enhanced=True, baseline="sql_r1"), engine=engine)
    bad = {"sql": "SELECT nope FROM employees", "db_path": gt["db_path"]}
    r = c.compute_reward(completion("SELECT nope FROM employees", "good"), bad)
    assert r.acc == 0.0 and r.breakdown["status_gold_error"] == 1.0
    assert r.breakdown["b_result"] == 0.0  # neutral, never a match


def test_baseline_execution_signal_is_kept(engine, gt):
    """The original recomputed the baseline with execution hard-coded to 0."""
    c = RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine)
    r = c.compute_reward(completion(GOLD, "good"), gt)
    assert r.baseline_total == 1.0 and r.total >= 1.0 and r.acc == 1.0


def test_callable_baseline_and_failures(engine, gt):
    c = RewardComputer(baseline=lambda s, g: {"score": 0.3}, engine=engine)
    assert c.compute_reward(completion(WRONG_SQL[1], "good"), gt).baseline_total == 0.3

    def boom(s, g):
        raise RuntimeError("bad baseline")

    r = RewardComputer(baseline=boom, engine=engine).compute_reward(completion(GOLD, "good"), gt)
    assert r.baseline_total == 0.0 and "bad baseline" in r.details["baseline_error"]
    nan = RewardComputer(baseline=lambda s, g: float("nan"), engine=engine).compute_reward(completion(GOLD, "good"), gt)
    assert math.isfinite(nan.total)


def test_gating(engine, gt):
    wrong_only = RewardComputer(
        RewardConfig(enable_enhanced=True, baseline="arctic", gating="wrong_only"), engine=engine
    )
    always = RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic", gating="always"), engine=engine)
    right = completion(CORRECT_SQL[2], "good")
    assert wrong_only.compute_reward(right, gt).total == 1.0
    assert always.compute_reward(right, gt).total > 1.0  # syntax credit added, never below the floor
    hallucinated = completion(WRONG_SQL[3], "good")
    assert wrong_only.compute_reward(hallucinated, gt).schema == -0.5


def test_enhanced_disabled_is_the_baseline(engine, gt):
    c = RewardComputer(RewardConfig(baseline="sql_r1", enable_enhanced=False), engine=engine)
    r = c.compute_reward(completion(WRONG_SQL[3], "good"), gt)
    assert r.total == r.baseline_total


def test_no_database_means_no_execution(engine):
    c = RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine)
    r = c.compute_reward(completion(GOLD, "good"), GOLD)
    assert r.acc == 0.0 and r.breakdown["status_db_missing"] == 1.0


def test_db_id_with_root(engine, demo_dir):
    c = RewardComputer(
        RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine, db_root=f"{demo_dir}/database"
    )
    assert c.compute_reward(completion(GOLD, "good"), {"sql": GOLD, "db_id": "hr"}).acc == 1.0


def test_parse_ground_truth_forms():
    assert parse_ground_truth('{"sql": "SELECT 1", "db_path": "/x"}').db_paths == ["/x"]
    assert parse_ground_truth({"query": "SELECT 1"}).sql == "SELECT 1"
    assert parse_ground_truth({"sql": "SELECT 1", "db_id": "../etc"}, db_root="/r").error
    assert parse_ground_truth(None).error


@pytest.mark.parametrize(
    "text", ['{"sql": "SELECT 1", "db_path": ', "{broken", "{" * 5000], ids=["cut", "broken", "deep"]
)
def test_a_ground_truth_that_opens_like_json_but_is_not_is_a_gold_error(engine, demo_paths, text):
    gt = parse_ground_truth(text, db_path=demo_paths["hr"])
    assert gt.sql is None and gt.error.startswith("ground_truth opens with '{' but is not JSON: ")
    r = RewardComputer(RewardConfig(baseline="arctic"), engine=engine).compute_reward(
        completion("SELECT 1", "good"), text, db_path=demo_paths["hr"]
    )
    assert r.details["status"] == "gold_error" and r.details["error"] == gt.error and r.total == 0.0


def test_extra_component(engine, gt):
    class Shorter:
        name = "short"
        max_score = 0.1

        def compute(self, sql, gold, schema=None):
            return 0.1 if sql and len(sql) <= len(gold) else 0.0

    c = RewardComputer(
        RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine, extra_components=[Shorter()]
    )
    r = c.compute_reward(completion(WRONG_SQL[0], "good"), gt)
    assert r.breakdown["x_short"] == 0.1


def test_invalid_arguments():
    with pytest.raises(ValueError):
        RewardComputer(RewardConfig(enable_enhanced=True, baseline="nope"))
    with pytest.raises(ValueError):
        RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic", gating="sometimes"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    preset=st.sampled_from(["sql_r1", "arctic", "reasoning_sql", "combined", "callable"]),
    gating=st.sampled_from(["wrong_only", "always"]),
    schema_weight=st.floats(-3.0, 0.0),
    select_w=st.floats(0.0, 3.0),
    where_w=st.floats(0.0, 3.0),
    join_w=st.floats(0.0, 3.0),
    syntax_w=st.floats(0.0, 3.0),
    wrong_ceiling=st.sampled_from([1.0, 0.3]),
    result_w=st.sampled_from([0.0, 2.0]),
    correct=st.lists(
        st.tuples(st.sampled_from(CORRECT_SQL), st.sampled_from(["good", "plain"])), min_size=1, max_size=4
    ),
    wrong=st.lists(
        st.one_of(
            st.tuples(st.sampled_from(WRONG_SQL), st.sampled_from(["good", "bad", "plain"])),
            st.tuples(st.sampled_from(CORRECT_SQL), st.just("bad")),  # right SQL, broken format: not correct
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_correct_always_beats_incorrect(
    engine,
    gt,
    preset,
    gating,
    schema_weight,
    select_w,
    where_w,
    join_w,
    syntax_w,
    wrong_ceiling,
    result_w,
    correct,
    wrong,
):
    fn = (lambda s, g: 0.5 if "salary" in (s or "") else 2.0) if preset == "callable" else None
    cfg = RewardConfig(
        enable_enhanced=True,
        baseline="arctic" if fn else preset,
        gating=gating,
        schema_weight=schema_weight,
        structural_weights={"select": select_w, "where": where_w, "join_conditions": join_w},
        structural_weight=select_w + where_w + join_w,
        syntax_weight=syntax_w,
        schema_penalty_cap=None,
        wrong_ceiling=wrong_ceiling,
        result_weight=result_w,
    )
    c = RewardComputer(cfg, baseline=fn, engine=engine)
    right = [c.compute_reward(completion(s, f), gt) for s, f in correct]
    bad = [c.compute_reward(completion(s, f), gt) for s, f in wrong]
    assert all(r.correct for r in right)
    assert not any(r.correct for r in bad)
    assert min(r.total for r in right) > max(r.total for r in bad)
    assert max(r.total for r in bad) <= c.band.ceiling <= wrong_ceiling * c.correct_floor


def test_db_fields_from_extra_info(engine, demo_paths):
    c = RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine)
    sql = "SELECT count(*) FROM employees"
    r = c.compute_reward(completion(sql, "good"), sql, extra_info={"db_path": demo_paths["hr"], "index": 3})
    assert r.acc == 1.0
    r = c.compute_reward(completion(sql, "good"), {"sql": sql}, extra_info={"db_path": demo_paths["hr"]})
    assert r.acc == 1.0


def test_internal_failures_are_logged_once(engine, gt, caplog):
    class Broken:
        name = "broken"

        def compute(self, sql, gold, schema=None):
            raise KeyError("boom-unique-for-this-test")

    c = RewardComputer(
        RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine, extra_components=[Broken()]
    )
    with caplog.at_level("WARNING"):
        for _ in range(3):
            r = c.compute_reward(completion(WRONG_SQL[1], "good"), gt)
            assert r.breakdown["x_broken"] == 0.0 and "boom" in r.details["x_broken_error"]
    assert sum("boom-unique-for-this-test" in rec.getMessage() for rec in caplog.records) == 1


def test_a_batch_whose_one_pass_analysis_fails_is_still_scored_sample_by_sample(engine, gt, caplog, monkeypatch):
    """The batch's one-pass analysis only warms caches: if it fails, scoring still gives every sample its result."""
    sols = [completion(sql, "good") for sql in CORRECT_SQL + WRONG_SQL]
    config = RewardConfig(enable_enhanced=True, baseline="arctic")
    want = RewardComputer(config, engine=engine).compute_rewards(sols, [gt] * len(sols))

    def broken(statements):
        raise MemoryError("warm-boom-unique-for-this-test")

    monkeypatch.setattr("extensions.rewards.combine.warm_components", broken)
    with caplog.at_level("WARNING"):
        for _ in range(2):
            got = RewardComputer(config, engine=engine).compute_rewards(sols, [gt] * len(sols))
            assert [r.breakdown["score"] for r in got] == [r.breakdown["score"] for r in want]
            assert [r.details["status"] for r in got] == [r.details["status"] for r in want]
    assert sum("warm-boom-unique-for-this-test" in rec.getMessage() for rec in caplog.records) == 1


def test_schema_penalty_same_with_sqlite_shortcut(engine, gt, demo_paths):
    """Without an explicit schema, a prediction SQLite compiled skips the name resolver:
    the penalty must equal the resolver's against the same database's schema."""
    from extensions.execution.introspect import load_schema

    explicit = load_schema(demo_paths["hr"])
    fast = RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine)
    slow = RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine)
    for sql in WRONG_SQL + [
        "SELECT d.name, count(*) FROM employees e JOIN departments d ON e.department_id = d.id GROUP BY d.name"
    ]:
        a = fast.compute_reward(completion(sql, "good"), gt)
        b = slow.compute_reward(completion(sql, "good"), gt, schema=explicit)
        assert a.breakdown == b.breakdown, sql
        if a.details.get("schema") and a.breakdown["executed"]:
            assert a.details["schema"]["checked_by"] == "sqlite_compile"
    typo = fast.compute_reward(completion("SELECT nme FROM employees WHERE salry > 1", "good"), gt)
    assert typo.breakdown["hallucinations"] == 2.0 and typo.schema == -1.0


def test_compute_rewards_batch_equals_per_sample(engine, gt, demo_paths):
    sols, gts = [], []
    for sql in CORRECT_SQL + WRONG_SQL:
        for fmt in ("good", "bad", "plain"):
            sols.append(completion(sql, fmt))
            gts.append(gt)
    sols += ["SELECT 1", "SELECT 1", None, "SELECT 1"]
    gts += [None, {"sql": "SELECT 1", "db_path": "/missing.sqlite"}, gt, "not json {"]
    batch = RewardComputer(RewardConfig(enable_enhanced=True, baseline="sql_r1"), engine=engine).compute_rewards(
        sols, gts
    )
    single = RewardComputer(RewardConfig(enable_enhanced=True, baseline="sql_r1"), engine=engine)
    assert len(batch) == len(sols)
    for got, sol, g in zip(batch, sols, gts):
        want = single.compute_reward(sol, g)
        assert {k: v for k, v in got.breakdown.items() if k != "pred_time_ms"} == {
            k: v for k, v in want.breakdown.items() if k != "pred_time_ms"
        }


def test_a_batch_parses_each_ground_truth_once_with_the_same_results(engine, demo_dir, demo_paths):
    """Repeated ground truths (one object, equal dicts, one JSON string, a db_id) and repeated completions."""
    count = "SELECT count(*) FROM employees"
    shared = {"sql": count, "db_path": demo_paths["hr"]}
    deep_gold = {"sql": "SELECT " + "(" * 40 + "1" + ")" * 40, "db_path": demo_paths["hr"]}
    rows = [
        (shared, None),
        (shared, None),
        ({"sql": count, "db_path": demo_paths["hr"]}, None),
        ('{"sql": "SELECT count(*) FROM employees", "db_id": "hr"}', None),
        ('{"sql": "SELECT count(*) FROM employees", "db_id": "hr"}', None),
        (count, {"db_id": "hr"}),
        (count, {"db_id": "store"}),  # one gold string, different databases
        ({"sql": count, "db_path": demo_paths["hr"], "schema": {"employees": ["id"]}}, None),
        (deep_gold, None),
    ]
    preds = [count, "SELECT count(id) FROM employees", "SELECT 1", "SELECT " + "(" * 40 + "1" + ")" * 40]
    sols, gts, extras = [], [], []
    for g, extra in rows:
        for p in preds + preds[:2]:
            sols.append(completion(p, "good"))
            gts.append(g)
            extras.append(extra)
    root = os.path.join(demo_dir, "database")
    batch = RewardComputer(engine=engine, db_root=root).compute_rewards(sols, gts, extra_infos=extras)
    single = RewardComputer(engine=engine, db_root=root)
    statuses = set()
    for got, sol, g, extra in zip(batch, sols, gts, extras):
        want = single.compute_reward(sol, g, extra_info=extra)
        statuses.add(got.details["status"])
        assert {k: v for k, v in got.breakdown.items() if k != "pred_time_ms"} == {
            k: v for k, v in want.breakdown.items() if k != "pred_time_ms"
        }
        assert got.details.get("error") == want.details.get("error")
    assert {"ok", "too_deep", "gold_error", "schema_error"} >= statuses >= {"ok", "too_deep", "gold_error"}


def test_compute_reward_async_gathered_equals_per_sample(engine, gt):
    """Calls awaited together are scored as one batch, with the per-sample results."""
    import asyncio
    import pickle

    sols = [completion(sql, fmt) for sql in CORRECT_SQL + WRONG_SQL for fmt in ("good", "plain")] + [None, b"\xff"]
    gts = [gt] * (len(sols) - 1) + ["not json {"]
    comp = RewardComputer(RewardConfig(enable_enhanced=True, baseline="sql_r1"), engine=engine)

    async def gathered(c):
        return await asyncio.gather(*(c.compute_reward_async(s, g) for s, g in zip(sols, gts)))

    got = asyncio.run(gathered(comp))
    assert comp.stats()["async"] == {"batches": 1, "calls": len(sols)}
    single = RewardComputer(RewardConfig(enable_enhanced=True, baseline="sql_r1"), engine=engine)
    for r, s, g in zip(got, sols, gts):
        want = single.compute_reward(s, g)
        assert {k: v for k, v in r.breakdown.items() if k != "pred_time_ms"} == {
            k: v for k, v in want.breakdown.items() if k != "pred_time_ms"
        }
    # A computer stays picklable; the copy batches its own calls.
    copy = pickle.loads(pickle.dumps(RewardComputer(RewardConfig(enable_enhanced=True, baseline="sql_r1"))))
    assert copy.stats()["async"] == {"batches": 0, "calls": 0} and copy.keys == comp.keys


def test_compute_reward_async_batch_failure_gives_internal_error(engine, gt, caplog):
    import asyncio

    class AsyncBatchBoom(RuntimeError):  # a kind of failure no other test logs
        pass

    class Broken(RewardComputer):
        def compute_rewards(self, *args, **kwargs):
            raise AsyncBatchBoom("boom")

    comp = Broken(engine=engine)

    async def gathered():
        return await asyncio.gather(*(comp.compute_reward_async(GOLD, gt) for _ in range(3)))

    with caplog.at_level("WARNING"):
        got = asyncio.run(gathered())
    assert [r.breakdown["status_internal_error"] for r in got] == [1.0, 1.0, 1.0]
    assert [r.total for r in got] == [0.0, 0.0, 0.0]
    assert sum("batch call failed" in m for m in caplog.messages) == 1


def test_repeated_samples_of_a_batch_get_equal_results_of_their_own(engine, gt):
    """Equal samples are prepared and scored once; each still gets its own breakdown and details dicts."""
    rc = RewardComputer(engine=engine)
    out = rc.compute_rewards([completion(CORRECT_SQL[0], "good")] * 3 + [completion(WRONG_SQL[0], "good")], [gt] * 4)
    assert out[0].breakdown == out[1].breakdown == out[2].breakdown != out[3].breakdown
    assert len({id(r.breakdown) for r in out}) == 4 and len({id(r.details) for r in out}) == 4
    out[1].breakdown["score"] = -5.0
    assert out[0].breakdown["score"] == out[2].breakdown["score"] != -5.0
