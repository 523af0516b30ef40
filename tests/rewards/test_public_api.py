"""The API promised to users of the original extension, exactly as its README writes it."""

import math

from extensions.config import load_config
from extensions.reward_enhanced import (
    EnhancedRewardComputer,
    EnhancedSyntaxReward,
    SchemaAwareReward,
    StructuralReward,
)


def test_readme_snippet(demo_paths):
    schema = {"tables": {"employees": {"columns": ["id", "name", "salary", "department"]}}}
    assert SchemaAwareReward(weight=-0.5).compute("SELECT name FROM customers", schema) == -0.5

    generated_sql = "SELECT name FROM employees WHERE salary > 100"
    ground_truth_sql = "SELECT name FROM employees WHERE salary > 100 AND department_id = 1"
    s = StructuralReward(select_weight=0.3, where_weight=0.3, join_weight=0.2).compute(generated_sql, ground_truth_sql)
    assert 0.0 < s < 1.0

    assert EnhancedSyntaxReward(weight=0.2).compute(generated_sql) == 0.2

    def baseline_reward(solution_str, ground_truth):
        return 1.0 if "SELECT" in solution_str else 0.0

    computer = EnhancedRewardComputer(
        baseline_reward_fn=baseline_reward,
        enable_enhanced=True,
        schema_weight=-0.5,
        structural_select_weight=0.3,
        structural_where_weight=0.3,
        structural_join_weight=0.2,
        syntax_weight=0.2,
    )
    model_output = "<think>hr</think><answer>```sql\nSELECT name FROM employees WHERE salary > 100\n```</answer>"
    ground_truth = {"sql": ground_truth_sql, "db_path": demo_paths["hr"]}
    result = computer.compute_reward(solution_str=model_output, ground_truth=ground_truth, schema=schema)
    for v in (result.total, result.baseline_total, result.schema, result.structural, result.syntax):
        assert isinstance(v, float) and math.isfinite(v)
    assert result.baseline_total == 1.0
    # A gold query that fails on its database makes the sample neutral: every completion scores 0.
    broken = computer.compute_reward(
        model_output, {"sql": "SELECT department FROM employees", "db_path": demo_paths["hr"]}
    )
    assert broken.total == 0.0 and broken.breakdown["status_gold_error"] == 1.0 and broken.breakdown["broken"] == 1.0

    config = load_config("configs/train_24gb.yaml")
    assert config.reward.schema_weight == -0.5
    assert config.reward.structural_weights["select"] == 0.3
    assert config.reward.syntax_weight == 0.2
