"""The band: correct answers first at any width, the baseline's execution signal kept between wrong answers."""

import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extensions.config import RewardConfig
from extensions.execution.engine import ExecutionEngine
from extensions.rewards import RewardComputer
from extensions.rewards.band import Band


def answer(sql: str) -> str:
    return f"```sql\n{sql}\n```"


@pytest.fixture(scope="module")
def concerts(tmp_path_factory) -> str:
    """Spider's concert_singer in miniature: singer and stadium."""
    path = str(tmp_path_factory.mktemp("concert") / "concert_singer.sqlite")
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, age INTEGER)")
        db.execute("CREATE TABLE stadium (stadium_id INTEGER PRIMARY KEY, name TEXT, capacity INTEGER)")
        db.executemany("INSERT INTO singer VALUES (?, ?, ?)", [(1, "Joe", 52), (2, "Ann", 29), (3, "Tom", 41)])
        db.executemany("INSERT INTO stadium VALUES (?, ?, ?)", [(1, "Park", 1000), (2, "Arena", 5000)])
    return path


@pytest.fixture(scope="module")
def quick_engine():
    eng = ExecutionEngine(workers=1, timeout_s=0.5, adaptive_timeout=False)
    yield eng
    eng.close()


def test_the_wrong_table_no_longer_outscores_the_right_one(engine, concerts):
    """Issue 19: `FROM stadium` scored 0.95 against 0.61 for the right table with a stray WHERE."""
    rc = RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine)
    gold = {"sql": "SELECT count(*) FROM singer", "db_path": concerts}
    wrong_table = rc.compute_reward(answer("SELECT count(*) FROM stadium"), gold)
    right_table = rc.compute_reward(answer("SELECT count(*) FROM singer WHERE age > 30"), gold)
    assert not wrong_table.correct and not right_table.correct
    assert wrong_table.total < right_table.total < 0.95


@pytest.mark.parametrize("wrong_ceiling", [1.0, 0.3])
def test_wrong_answers_stay_under_the_band(engine, concerts, wrong_ceiling):
    rc = RewardComputer(
        RewardConfig(enable_enhanced=True, baseline="arctic", wrong_ceiling=wrong_ceiling, result_weight=1.0),
        engine=engine,
    )
    gold = {"sql": "SELECT name FROM singer WHERE age > 30", "db_path": concerts}
    wrong = [
        "SELECT name FROM singer WHERE age > 45",
        "SELECT name FROM singer",
        "SELECT name FROM stadium",
        "SELECT nme FROM singer WHERE age > 30",
        "SELECT name FROM singer WHERE age > 30 LIMIT 1",
    ]
    totals = [rc.compute_reward(answer(s), gold).total for s in wrong]
    right = rc.compute_reward(answer("SELECT s.name FROM singer AS s WHERE s.age > 30"), gold)
    assert right.correct and right.total == 1.0
    assert max(totals) <= min(wrong_ceiling, 0.95) + 1e-12
    assert max(totals) > 0.1  # shaping still orders them


def test_a_timed_out_query_stays_below_an_executed_wrong_one(quick_engine, concerts):
    """Issue 18 item 9: both totalled 0.950 under arctic with all shaping."""
    rc = RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=quick_engine)
    gold = {"sql": "SELECT count(*) FROM singer", "db_path": concerts}
    cte = "WITH RECURSIVE r AS (SELECT 1 AS x UNION ALL SELECT x + 1 FROM r{}) SELECT count(*) FROM r"
    runaway = rc.compute_reward(answer(cte.format("")), gold)
    executed = rc.compute_reward(answer(cte.format(" LIMIT 5")), gold)
    assert runaway.breakdown["executed"] == 0.0 and runaway.details["status"] != "ok"
    assert executed.breakdown["executed"] == 1.0 and not executed.correct
    for key in ("structural", "syntax", "schema"):  # the same shape
        assert runaway.breakdown[key] == executed.breakdown[key]
    assert executed.total - runaway.total == pytest.approx(0.1)  # arctic's execution signal, kept whole


@given(
    b1=st.floats(0.0, 0.1),
    b2=st.floats(0.0, 0.1),
    pos=st.floats(0.0, 5.0),
    neg=st.floats(-2.0, 0.0),
    wrong_ceiling=st.sampled_from([1.0, 0.5, 0.3]),
    pos_max=st.floats(0.01, 5.0),
)
def test_same_shaping_keeps_the_baseline_difference(b1, b2, pos, neg, wrong_ceiling, pos_max):
    band = Band.of(floor=1.0, wrong_ceiling=wrong_ceiling, margin=0.05, wrong_max=0.1, pos_max=pos_max)
    pos = min(pos, pos_max)
    t1, t2 = band.wrong_total(b1, pos, neg), band.wrong_total(b2, pos, neg)
    assert max(t1, t2) <= band.ceiling < band.floor
    assert t1 - t2 == pytest.approx(b1 - b2, abs=1e-9)


@given(
    b1=st.floats(-5.0, 5.0),
    b2=st.floats(-5.0, 5.0),
    pos=st.floats(0.0, 5.0),
    neg=st.floats(-2.0, 0.0),
    wrong_max=st.one_of(st.none(), st.floats(-1.0, 3.0)),
    floor=st.floats(0.5, 6.0),
)
def test_a_higher_baseline_never_totals_less(b1, b2, pos, neg, wrong_max, floor):
    band = Band.of(floor=floor, wrong_ceiling=0.3, margin=0.05, wrong_max=wrong_max, pos_max=1.0)
    lo, hi = sorted((b1, b2))
    pos = min(pos, 1.0)
    assert band.wrong_total(lo, pos, neg) <= band.wrong_total(hi, pos, neg) + 1e-12
    assert band.correct_total(floor, -1.0) >= floor > band.ceiling
