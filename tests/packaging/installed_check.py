"""Run with the python of a venv where the wheel is installed, from a folder outside the repository.

The README's quick start, the verl hook loaded by path (as verl does), the shipped configs, recipes and demo
questions.
Prints one JSON line with what the test asserts.
"""

import hashlib
import importlib.util
import json
import os

import extensions
from extensions.config import load_config
from extensions.data.demo import build_demo_databases, demo_examples, questions_file, slot_examples
from extensions.reward_enhanced import EnhancedRewardComputer, EnhancedSyntaxReward, SchemaAwareReward, StructuralReward
from extensions.training.recipes import recipes


def quick_start(db_path):
    schema = {"tables": {"employees": {"columns": ["id", "name", "salary", "department"]}}}
    out = {"schema": SchemaAwareReward(weight=-0.5).compute("SELECT name FROM customers", schema)}
    out["structural"] = StructuralReward(select_weight=0.3, where_weight=0.3, join_weight=0.2).compute(
        "SELECT name FROM employees", "SELECT name FROM employees"
    )
    out["syntax"] = EnhancedSyntaxReward(weight=0.2).compute("SELECT name FROM employees")
    computer = EnhancedRewardComputer(
        baseline_reward_fn="arctic",
        enable_enhanced=True,
        schema_weight=-0.5,
        structural_select_weight=0.3,
        structural_where_weight=0.3,
        structural_join_weight=0.2,
        syntax_weight=0.2,
    )
    result = computer.compute_reward(
        solution_str="<think>x</think><answer>```sql\nSELECT count(*) FROM employees\n```</answer>",
        ground_truth={"sql": "SELECT count(*) FROM employees", "db_path": db_path},
    )
    out["total"] = result.total
    out["train_24gb_lora_r"] = load_config("configs/train_24gb.yaml").optimization.lora.r
    return {k: float(v) for k, v in out.items()}


def hook_by_path(db_path):
    path = os.path.join(os.path.dirname(extensions.__file__), "verl_hook.py")
    spec = importlib.util.spec_from_file_location("custom_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    gt = {"sql": "SELECT count(*) FROM employees", "db_path": db_path}
    return module.compute_score(
        "demo", "<think>x</think><answer>```sql\nSELECT count(*) FROM employees\n```</answer>", gt, {}
    )


def demo_questions():
    text = json.dumps(demo_examples() + slot_examples(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return {"file": str(questions_file()), "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def main():
    db_path = build_demo_databases()["hr"]
    out = {"package_dir": os.path.dirname(extensions.__file__), "quick_start": quick_start(db_path)}
    out["hook"] = {k: v for k, v in hook_by_path(db_path).items() if k in ("score", "acc", "status_ok")}
    out["demo_questions"] = demo_questions()
    out["recipes"] = recipes().model_dump(mode="json")  # configs/recipes.yaml, read through importlib.resources
    print(json.dumps(out))


if __name__ == "__main__":
    main()
