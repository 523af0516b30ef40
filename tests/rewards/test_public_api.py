"""The API promised to users of the original extension, exactly as its README writes it, with the values it gives."""

import pytest

from extensions.config import load_config
from extensions.reward_enhanced import (
    EnhancedRewardComputer,
    EnhancedSyntaxReward,
    SchemaAwareReward,
    StructuralReward,
)

SCHEMA = {"tables": {"employees": {"columns": ["id", "name", "salary", "department"]}}}
GENERATED = "SELECT name FROM employees WHERE salary > 100"
GOLD = "SELECT name FROM employees WHERE salary > 100 AND department_id = 1"


def _answer(sql: str) -> str:
    return f"<think>hr</think><answer>```sql\n{sql}\n```</answer>"


def test_components():
    unknown = SchemaAwareReward(weight=-0.5).compute("SELECT name FROM customers", SCHEMA)
    assert unknown == -0.5 and unknown.details["unknown_tables"] == ["customers"]
    assert SchemaAwareReward(weight=-0.5).compute(GENERATED, SCHEMA) == 0.0
    # SELECT and the table match (F1 1), WHERE has 1 of the gold's 2 conjuncts (F1 2/3); weights 0.3 each.
    s = StructuralReward(select_weight=0.3, where_weight=0.3, join_weight=0.2).compute(GENERATED, GOLD)
    assert s == pytest.approx((0.3 + 0.3 * 2 / 3 + 0.3) / 0.9) and s.details["where"] == pytest.approx(2 / 3, abs=1e-6)
    assert EnhancedSyntaxReward(weight=0.2).compute(GENERATED) == 0.2
    assert EnhancedSyntaxReward(weight=0.2).compute("DELETE FROM employees") == 0.0


def baseline_reward(solution_str, ground_truth):
    return 1.0 if "SELECT" in solution_str else 0.0


@pytest.fixture()
def computer():
    return EnhancedRewardComputer(
        baseline_reward_fn=baseline_reward,
        enable_enhanced=True,
        schema_weight=-0.5,
        structural_select_weight=0.3,
        structural_where_weight=0.3,
        structural_join_weight=0.2,
        syntax_weight=0.2,
    )


def test_a_wrong_answer_gets_its_shaping_under_the_correct_floor(computer, demo_paths):
    result = computer.compute_reward(
        solution_str=_answer(GENERATED), ground_truth={"sql": GOLD, "db_path": demo_paths["hr"]}, schema=SCHEMA
    )
    assert (result.correct, result.baseline_total, result.schema, result.syntax) == (False, 1.0, 0.0, 0.2)
    assert result.structural == pytest.approx(0.8 * 8 / 9)  # multiplier 0.3 + 0.3 + 0.2 times the clause F1
    # Baseline 1.0 plus shaping would pass the correct floor (1.0): the wrong total stays a margin below it.
    assert result.total == pytest.approx(1.0 - 0.05)


def test_a_correct_answer_keeps_its_baseline_and_a_hallucination_costs_its_weight(computer, demo_paths):
    truth = {"sql": GENERATED, "db_path": demo_paths["hr"]}
    right = computer.compute_reward(_answer(GENERATED), truth, schema=SCHEMA)
    assert right.correct and right.total == 1.0  # gating wrong_only: no shaping on a correct answer
    typo = computer.compute_reward(_answer("SELECT nme FROM employes"), truth, schema=SCHEMA)
    assert typo.details["status"] == "schema_error" and typo.schema == -0.5 and typo.total == pytest.approx(0.5)


def test_a_sample_whose_gold_fails_is_neutral(computer, demo_paths):
    broken = computer.compute_reward(
        _answer(GENERATED), {"sql": "SELECT department FROM employees", "db_path": demo_paths["hr"]}
    )
    assert broken.total == 0.0 and broken.breakdown["status_gold_error"] == 1.0 and broken.breakdown["broken"] == 1.0


def test_the_seed_config_values():
    config = load_config("configs/train_24gb.yaml")
    assert config.reward.schema_weight == -0.5
    assert config.reward.structural_weights["select"] == 0.3
    assert config.reward.syntax_weight == 0.2
