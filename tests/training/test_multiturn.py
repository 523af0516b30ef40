"""train_colab.py --multi-turn: real GRPO steps with TRL's environment_factory, the tiny model, the demo databases."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")


@pytest.mark.slow
def test_multi_turn_grpo_calls_the_tool_and_logs_rewards(tmp_path):
    from extensions.training.cli import main

    out = tmp_path / "run"
    rc = main(["--demo", "--multi-turn", "--config", "configs/demo_cpu.yaml", "--output-dir", str(out),
               "--num-steps", "2", "--batch-size", "1", "--set", "grpo.num_generations=4",
               "--set", "grpo.temperature=0.7", "--no-eval"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert summary["steps"] == len(steps) == 2
    assert summary["tool_calls_per_episode"] >= 1.0, summary
    for s in steps:
        assert s["rewards/sql_reward/mean"] == s["rewards/sql_reward/mean"]  # logged and not NaN
        assert "rewards/tool_errors/mean" in s and "tools/call_frequency" in s
    episodes = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    tool_messages = [m for e in episodes for m in e["completion"] if m["role"] == "tool"]
    assert tool_messages and all(m["content"].startswith("error: ") or m["content"].rstrip().endswith(")")
                                 for m in tool_messages)
