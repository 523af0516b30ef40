import asyncio
import json

import pytest

import extensions.integrations.verifiers as sqlenv  # ours: an ImportError here is a failure, never a skip
from tests.conftest import require

vf = require("verifiers")
require("datasets")
pytestmark = pytest.mark.skipif(
    sqlenv.verifiers_api() != "legacy",
    reason="verifiers 0.4 is installed: tests/integrations/test_verifiers_v1.py covers it",
)


def test_load_environment_and_score_a_rollout(demo_dir, monkeypatch):
    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    env = sqlenv.load_environment(**{"execution.workers": 1, "reward.enable_enhanced": True})
    assert type(env).__name__ == "SingleTurnEnv" and len(env.dataset) >= 300
    # SingleTurnEnv wraps our rubric in a RubricGroup with its own turn monitor.
    rubrics = getattr(env.rubric, "rubrics", [env.rubric])
    ours = next(r for r in rubrics if any(f.__name__ == "baseline" for f in r.funcs))
    assert [f.__name__ for f in ours.funcs] == ["baseline", "schema", "structural", "syntax", "invariant"]
    assert ours.weights == [1.0, -0.5, pytest.approx(0.8), 0.2, 1.0]
    row = env.dataset[0]
    gold = json.loads(row["answer"])["sql"]

    def score(text):
        state = vf.State(
            {
                "input": {"prompt": row["prompt"], "answer": row["answer"], "info": row["info"], "example_id": 0},
                "completion": [{"role": "assistant", "content": text}],
                "trajectory": [],
            }
        )
        asyncio.run(env.rubric.score_rollout(state))
        return state["reward"], state["metrics"]

    right, m_right = score(f"<think>x</think><answer>```sql\n{gold}\n```</answer>")
    wrong, m_wrong = score("<think>x</think><answer>```sql\nSELECT nme FROM employes\n```</answer>")
    assert right == pytest.approx(1.0) and m_right["baseline"] == 1.0
    assert m_wrong["schema"] >= 1.0 and wrong < right
    # The weighted sum of the rubric equals our computer's total.
    computer = sqlenv.RewardComputer(
        sqlenv.load_config(overrides=["execution.workers=1", "reward.enable_enhanced=true"])
    )
    wrong_text = "<think>x</think><answer>```sql\nSELECT nme FROM employes\n```</answer>"
    total = computer.compute_reward(wrong_text, row["answer"]).total
    assert wrong == pytest.approx(total)


def test_with_shaping_off_the_rubric_holds_only_what_is_computed(demo_dir, monkeypatch):
    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    env = sqlenv.load_environment(**{"execution.workers": 1})
    rubrics = getattr(env.rubric, "rubrics", [env.rubric])
    ours = next(r for r in rubrics if any(f.__name__ == "baseline" for f in r.funcs))
    assert [f.__name__ for f in ours.funcs] == ["baseline", "invariant"] and ours.weights == [1.0, 1.0]
    row = env.dataset[0]
    state = vf.State(
        {
            "input": {"prompt": row["prompt"], "answer": row["answer"], "info": row["info"], "example_id": 0},
            "completion": [{"role": "assistant", "content": "<answer>```sql\nSELECT nme FROM employes\n```</answer>"}],
            "trajectory": [],
        }
    )
    asyncio.run(env.rubric.score_rollout(state))
    computer = sqlenv.RewardComputer(sqlenv.load_config(overrides=["execution.workers=1"]))
    total = computer.compute_reward("<answer>```sql\nSELECT nme FROM employes\n```</answer>", row["answer"]).total
    assert state["reward"] == pytest.approx(total) and set(state["metrics"]) >= {"baseline", "invariant"}
    assert not {"schema", "structural", "syntax"} & set(state["metrics"])


def test_config_mistake_raises_naming_the_key(demo_dir, monkeypatch):
    from extensions.errors import ConfigError

    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    with pytest.raises(ConfigError, match="reward.syntax_wieght"):
        sqlenv.load_environment(**{"reward.syntax_wieght": 0.1})
    with pytest.raises(ConfigError, match="config file not found"):
        sqlenv.load_environment(config="/nonexistent.yaml")


def test_spider_source(spider_dev, monkeypatch):
    env = sqlenv.load_environment(dataset=str(spider_dev), **{"execution.workers": 1})
    row = env.dataset[0]
    assert json.loads(row["answer"])["db_path"].startswith(str(spider_dev)) and row["info"]["db_id"]
    assert len(env.dataset) == len(json.loads((spider_dev / "dev.json").read_text()))
