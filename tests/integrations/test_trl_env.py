"""The TRL environment (environment_factory) and the episode reward functions, without a trainer."""

from __future__ import annotations

import inspect
import json

import pytest

from extensions.config import MultiTurnConfig
from extensions.defaults.tool import ToolLimits
from extensions.integrations.trl_env import (
    SqlEnvironment,
    environment_factory,
    make_episode_reward_funcs,
)
from extensions.rewards.combine import RewardComputer
from tests.conftest import FIXTURES

GOLD = "SELECT name FROM employees WHERE salary > 100000 ORDER BY name"


def _episode(final: str, calls: int = 1) -> list[dict]:
    msgs = []
    for _ in range(calls):
        msgs += [
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"type": "function", "function": {"name": "execute_sql", "arguments": {"query": "SELECT 1"}}}
                ],
            },
            {"role": "tool", "content": "1\n1\n(1 row)"},
        ]
    return msgs + [{"role": "assistant", "content": final}]


def test_the_only_tool_trl_sees_is_execute_sql():
    public = [n for n, _ in inspect.getmembers(SqlEnvironment, predicate=inspect.isfunction) if not n.startswith("_")]
    assert sorted(public) == ["execute_sql", "reset"]


def test_reset_takes_the_database_from_the_ground_truth_and_never_reveals_the_gold(demo_paths):
    env = environment_factory(ToolLimits(max_calls=50))()
    env.reset(prompt=[], ground_truth={"sql": GOLD, "db_path": demo_paths["hr"]})
    assert env.execute_sql("SELECT count(*) FROM employees").splitlines()[1] == "60"
    queries = [json.loads(line)["query"] for line in (FIXTURES / "tool_hostile.jsonl").read_text().splitlines()]
    answers = [env.execute_sql(q) for q in queries if isinstance(q, str) and "RECURSIVE" not in q]
    answers += [env.execute_sql("SELECT * FROM sqlite_master"), env.execute_sql("SELECT sql FROM sqlite_master")]
    assert not any(GOLD in a or "salary > 100000" in a for a in answers)
    assert vars(env).keys().isdisjoint({"gold", "ground_truth", "sql"})


def test_each_reset_starts_a_new_budget(demo_paths):
    env = SqlEnvironment(ToolLimits(max_calls=1))
    env.reset(ground_truth={"sql": GOLD, "db_path": demo_paths["hr"]})
    env.execute_sql("SELECT 1")
    assert env.execute_sql("SELECT 1").startswith("error: call budget spent")
    env.reset(ground_truth={"sql": GOLD, "db_path": demo_paths["hr"]})
    assert env.execute_sql("SELECT 1").endswith("(1 row)") and env.stats.calls == 1


def test_reward_functions_score_the_final_answer_and_log_tool_use(demo_paths):
    computer = RewardComputer()
    funcs, weights = make_episode_reward_funcs(computer, MultiTurnConfig(no_answer_penalty=-1.0))
    names = [f.__name__ for f in funcs]
    assert names[0] == "sql_reward" and weights[0] == 1.0 and set(weights[1:]) == {0.0}
    gt = {"sql": GOLD, "db_path": demo_paths["hr"]}
    envs = [SqlEnvironment(ToolLimits(max_calls=2)) for _ in range(3)]
    for e in envs:
        e.reset(ground_truth=gt)
    envs[0].execute_sql("SELECT 1")
    envs[1].execute_sql("SELEC")
    envs[2].execute_sql("SELECT 1")
    envs[2].execute_sql("SELECT 2")
    right = f"<think>t</think><answer>```sql\n{GOLD}\n```</answer>"
    completions = [_episode(right), _episode("<think>t</think><answer>```sql\nSELECT 1\n```</answer>"), _episode("", 2)]
    cols = {
        n: f(prompts=[[]] * 3, completions=completions, ground_truth=[gt] * 3, environments=envs)
        for n, f in zip(names, funcs)
    }
    single = computer.compute_reward(right, gt).breakdown["score"]
    assert cols["sql_reward"][0] == pytest.approx(single) and cols["acc"] == [1.0, 0.0, 0.0]
    assert cols["tool_calls"] == [1.0, 1.0, 2.0] and cols["tool_errors"] == [0.0, 1.0, 0.0]
    assert cols["tool_budget_spent"] == [0.0, 0.0, 1.0]
    assert cols["sql_reward"][2] == pytest.approx(computer.compute_reward("", gt).breakdown["score"] - 1.0)
