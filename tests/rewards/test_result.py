"""The result component: BIRD Mini-Dev's Soft F1 of the result tables, for wrong answers only."""

import pytest

from extensions.config import RewardConfig
from extensions.rewards import RewardComputer
from extensions.rewards.result import soft_f1


@pytest.mark.parametrize(
    "pred, gold, expected",
    [
        ([], [], 1.0),
        ([(1,)], [], 0.0),
        ([], [(1,)], 0.0),
        ([(1, "a")], [(1, "a")], 1.0),
        ([(1, "a"), (1, "a")], [(1, "a")], 1.0),  # duplicates dropped
        ([(1, "b")], [(1, "a")], 0.5),  # half of the row: P = R = 1/2
        ([(1,)], [(1,), (2,)], 2 / 3),  # one gold row missing: P = 1, R = 1/2
        ([(1,), (2,)], [(1,)], 2 / 3),  # one extra row: P = 1/2, R = 1
        ([("a", 1)], [(1, "a")], 1.0),  # cells compared within the row, order free
    ],
)
def test_soft_f1_by_hand(pred, gold, expected):
    assert soft_f1(pred, gold) == pytest.approx(expected)


def test_every_row_does_not_game_it():
    gold = [(7, "Joe")]
    everything = [(i, f"name{i}") for i in range(50)] + [(7, "Joe")]
    assert soft_f1(everything, gold) < 0.1


def _computer(engine, weight=1.0):
    return RewardComputer(
        RewardConfig(
            enable_enhanced=True,
            baseline="arctic",
            schema_weight=0.0,
            structural_weight=0.0,
            syntax_weight=0.0,
            result_weight=weight,
        ),
        engine=engine,
    )


def test_select_star_against_one_row_scores_low(engine, demo_paths):
    rc = _computer(engine)
    gold = {"sql": "SELECT * FROM employees WHERE id = 1", "db_path": demo_paths["hr"]}
    star = rc.compute_reward("```sql\nSELECT * FROM employees\n```", gold)
    assert not star.correct and star.breakdown["result_f1"] < 0.2
    near = rc.compute_reward("```sql\nSELECT * FROM employees WHERE id <= 2\n```", gold)
    assert near.breakdown["result_f1"] > star.breakdown["result_f1"]
    assert near.total > star.total


def test_gated_to_wrong_answers_and_under_the_band(engine, demo_paths):
    rc = _computer(engine, weight=5.0)
    gold = {"sql": "SELECT name FROM employees WHERE id <= 3", "db_path": demo_paths["hr"]}
    right = rc.compute_reward("```sql\nSELECT name FROM employees WHERE id < 4\n```", gold)
    almost = rc.compute_reward("```sql\nSELECT name FROM employees WHERE id <= 2\n```", gold)
    assert right.correct and right.breakdown["result"] == 0.0 and right.total == 1.0
    assert not almost.correct and 0.1 < almost.total <= 0.95 and almost.breakdown["result_f1"] == pytest.approx(0.8)


def test_result_keys_always_present_and_zero_when_off(engine, demo_paths):
    rc = _computer(engine, weight=0.0)
    r = rc.compute_reward("```sql\nSELECT 1\n```", {"sql": "SELECT 2", "db_path": demo_paths["hr"]})
    assert r.breakdown["result"] == 0.0 and r.breakdown["result_f1"] == 0.0
    assert rc.compute_reward(None, None).breakdown.keys() == r.breakdown.keys()
