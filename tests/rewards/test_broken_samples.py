"""Samples nothing can verify are neutral; hostile sizes and nesting get defined statuses."""

import logging
import shutil

import pytest

from extensions.config import RewardConfig
from extensions.rewards import RewardComputer

GOLD = "SELECT name FROM employees WHERE salary > 100000 ORDER BY name"
GROUP = [  # one GRPO group: right, wrong, hallucinated, unparseable, no SQL
    f"<think>r</think><answer>```sql\n{GOLD}\n```</answer>",
    "<think>r</think><answer>```sql\nSELECT name FROM employees\n```</answer>",
    "<think>r</think><answer>```sql\nSELECT nme FROM employes\n```</answer>",
    "<think>r</think><answer>```sql\nSELEC name\n```</answer>",
    "no answer at all",
]


@pytest.fixture(scope="module")
def corrupt_db(tmp_path_factory) -> str:
    p = tmp_path_factory.mktemp("corrupt") / "bad.sqlite"
    p.write_bytes(b"this is not a database" * 100)
    return str(p)


def _broken_truths(demo_paths, corrupt_db):
    hr = demo_paths["hr"]
    return {
        "db_missing": {"sql": GOLD, "db_path": "/nowhere/missing.sqlite"},
        "db_missing_no_db": GOLD,
        "db_corrupt": {"sql": GOLD, "db_path": corrupt_db},
        "gold_error": {"sql": "SELECT salary_typo FROM employees", "db_path": hr},
        "gold_too_deep": {"sql": "SELECT " + "(" * 5000 + "1" + ")" * 5000, "db_path": hr},
        "no_sql": {"db_path": hr},
    }


@pytest.mark.parametrize("preset", ["sql_r1", "arctic", "reasoning_sql", "combined"])
@pytest.mark.parametrize(
    "case", ["db_missing", "db_missing_no_db", "db_corrupt", "gold_error", "gold_too_deep", "no_sql"]
)
def test_every_completion_of_a_broken_sample_scores_the_same(engine, demo_paths, corrupt_db, preset, case):
    gt = _broken_truths(demo_paths, corrupt_db)[case]
    rc = RewardComputer(RewardConfig(enable_enhanced=True, baseline=preset), engine=engine)
    results = rc.compute_rewards(GROUP, [gt] * len(GROUP))
    assert {r.total for r in results} == {0.0}
    assert all(r.breakdown["broken"] == 1.0 and r.breakdown["shaping"] == 0.0 for r in results)
    status = {"db_missing_no_db": "db_missing", "gold_too_deep": "gold_error", "no_sql": "gold_error"}.get(case, case)
    assert all(r.breakdown[f"status_{status}"] == 1.0 for r in results)
    assert [r.breakdown for r in results] == [rc.compute_reward(s, gt).breakdown for s in GROUP]


def test_broken_score_and_shape_broken_are_configurable(engine):
    gt = {"sql": GOLD, "db_path": "/nowhere/missing.sqlite"}
    neutral = RewardComputer(RewardConfig(enable_enhanced=True, broken_score=-0.25), engine=engine)
    assert {neutral.compute_reward(s, gt).total for s in GROUP} == {-0.25}
    shaped = RewardComputer(RewardConfig(enable_enhanced=True, shape_broken=True), engine=engine)
    totals = [shaped.compute_reward(s, gt).total for s in GROUP]
    assert len(set(totals)) > 1  # the old behaviour, on request: shaping pays for unverified text


def test_verified_samples_are_not_broken(engine, demo_paths):
    rc = RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine)
    results = rc.compute_rewards(GROUP, [{"sql": GOLD, "db_path": demo_paths["hr"]}] * len(GROUP))
    assert [r.breakdown["broken"] for r in results] == [0.0] * len(GROUP)
    assert results[0].total == 1.0 and max(r.total for r in results[1:]) < 1.0


def test_broken_samples_warn_rate_limited_naming_the_database(engine, caplog, tmp_path):
    missing = str(tmp_path / "gone" / "unique_missing_for_this_test.sqlite")
    rc = RewardComputer(RewardConfig(enable_enhanced=True), engine=engine)
    with caplog.at_level(logging.WARNING, logger="extensions.rewards.combine"):
        for s in GROUP * 3:
            rc.compute_reward(s, {"sql": GOLD, "db_path": missing})
    hits = [r.getMessage() for r in caplog.records if "unique_missing_for_this_test" in r.getMessage()]
    assert len(hits) == 1 and "db_missing" in hits[0]


@pytest.fixture()
def uncached_engine():
    """An engine that re-reads file signatures on every call and keeps no verdicts."""
    from extensions.execution.engine import ExecutionEngine

    with ExecutionEngine(workers=1, stat_ttl_s=0, verdict_cache_entries=0) as eng:
        yield eng


def test_database_deleted_between_calls_becomes_neutral(uncached_engine, demo_paths, tmp_path):
    db = tmp_path / "hr_copy.sqlite"
    shutil.copy(demo_paths["hr"], db)
    rc = RewardComputer(RewardConfig(enable_enhanced=True), engine=uncached_engine)
    gt = {"sql": GOLD, "db_path": str(db)}
    assert rc.compute_reward(GROUP[0], gt).total == 1.0
    db.unlink()
    assert {rc.compute_reward(s, gt).total for s in GROUP} == {0.0}


@pytest.mark.parametrize("size", [100_001, 20_000_000])
def test_huge_completion_is_too_large_without_preprocessing(engine, demo_paths, size):
    rc = RewardComputer(RewardConfig(enable_enhanced=True, baseline="sql_r1"), engine=engine)
    text = "<think>" + "x" * size + "</think><answer>```sql\nSELECT 1\n```</answer>"
    r = rc.compute_reward(text, {"sql": GOLD, "db_path": demo_paths["hr"]})
    assert r.breakdown["status_too_large"] == 1.0 and r.details["format_reason"] == "too_large"
    assert r.breakdown["format_ok"] == 0.0 and r.breakdown["broken"] == 0.0
    assert r.total < rc.compute_reward(GROUP[1], {"sql": GOLD, "db_path": demo_paths["hr"]}).total


@pytest.mark.parametrize("shape", ["(", "abs(", "1+("])
def test_too_deep_prediction_is_refused_but_the_sample_is_not_broken(engine, demo_paths, shape):
    rc = RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine)
    sql = "SELECT " + shape * 3000 + "1" + ")" * 3000
    r = rc.compute_reward(f"```sql\n{sql}\n```", {"sql": GOLD, "db_path": demo_paths["hr"]})
    assert r.breakdown["status_too_deep"] == 1.0 and r.breakdown["broken"] == 0.0
    assert r.total == 0.0 and r.acc == 0.0 and r.breakdown["syntax"] == 0.0


def test_internal_error_is_neutral(engine, demo_paths):
    class Boom(RewardComputer):
        def _baseline(self, *a, **k):
            raise RuntimeError("boom")

    r = Boom(RewardConfig(enable_enhanced=True, broken_score=0.0), engine=engine).compute_reward(
        GROUP[0], {"sql": GOLD, "db_path": demo_paths["hr"]}
    )
    assert r.breakdown["status_internal_error"] == 1.0 and r.total == 0.0 and r.breakdown["broken"] == 1.0
