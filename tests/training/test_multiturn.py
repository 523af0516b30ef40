"""train_colab.py --multi-turn: real GRPO steps with TRL's environment_factory, the tiny model, the demo databases."""

from __future__ import annotations

import json

import pytest

from tests.conftest import require

require("trl")


@pytest.mark.slow
def test_multi_turn_grpo_calls_the_tool_learns_and_logs_rewards(tmp_path, grpo_updates):
    from extensions.training.cli import main

    out = tmp_path / "run"
    rc = main(
        [
            "--demo",
            "--multi-turn",
            "--config",
            "configs/demo_cpu.yaml",
            "--output-dir",
            str(out),
            "--num-steps",
            "2",
            "--batch-size",
            "1",
            "--set",
            "grpo.num_generations=4",
            "--set",
            "grpo.temperature=0.7",
            "--set",  # failed calls cost reward: episodes differ, so GRPO has a gradient even at reward 0
            "multi_turn.error_penalty=-0.1",
            "--no-eval",
        ]
    )
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert summary["steps"] == len(steps) == 2
    assert summary["tool_calls_per_episode"] >= 1.0, summary
    losses = [json.loads(line)["loss"] for line in (out / "sft_metrics.jsonl").read_text().splitlines()]
    assert sum(losses[-10:]) < 0.5 * sum(losses[:10]), losses[:10] + losses[-10:]  # the transcript warm-up learns
    assert min(s["frac_reward_zero_std"] for s in steps) < 1.0, steps  # some group's rewards differ
    (update,) = grpo_updates
    assert update["changed"] > 0, update  # so the GRPO steps moved the weights
    for s in steps:
        assert s["rewards/sql_reward/mean"] == s["rewards/sql_reward/mean"]  # logged and not NaN
        assert "rewards/tool_errors/mean" in s and "tools/call_frequency" in s
    episodes = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    tool_messages = [m for e in episodes for m in e["completion"] if m["role"] == "tool"]
    assert tool_messages and all(
        m["content"].startswith("error: ") or m["content"].rstrip().endswith(")") for m in tool_messages
    )


def test_the_verl_backend_points_to_its_own_multi_turn_commands(tmp_path, capsys):
    from extensions.training.cli import main

    assert main(["--backend", "verl", "--multi-turn", "--output-dir", str(tmp_path), "--dry-run"]) == 2
    assert "verl_launch --multi-turn" in capsys.readouterr().err


def test_transcript_loss_covers_only_the_assistant_turns():
    from extensions.integrations.trl_env import SqlEnvironment
    from extensions.training.data import gold_completion
    from extensions.training.multiturn import use_tool_template
    from extensions.training.tiny import build_tokenizer
    from extensions.training.tool_sft import encode, transcript

    tok = use_tool_template(build_tokenizer())
    row = {
        "prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": "Question: how many?"}],
        "ground_truth": {"sql": "SELECT count(*) FROM employees"},
    }
    messages = transcript(row, [("SELECT * FROM employees LIMIT 3", "id\n1\n(1 row)")])
    ids, labels = encode(tok, messages, [SqlEnvironment().execute_sql])
    learned = tok.decode([t for t, la in zip(ids, labels) if la != -100])
    assert len(ids) == len(labels) and learned.startswith("<tool_call>\n")
    assert '{"query": "SELECT * FROM employees LIMIT 3"}' in learned
    assert gold_completion("SELECT count(*) FROM employees") in learned
    assert "Question" not in learned and "<tool_response>" not in learned and "# Tools" not in learned
