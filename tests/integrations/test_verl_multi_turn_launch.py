"""``verl_launch --multi-turn``: verl 0.9's multi-turn keys, the tool YAML, the episode reward hook."""

from __future__ import annotations

import yaml

from extensions.config import load_config
from extensions.integrations.verl.launch import build_overrides, main
from tests.conftest import require


def _keys(overrides: list[str]) -> dict[str, str]:
    return dict(o.lstrip("+").split("=", 1) for o in overrides)


def test_multi_turn_overrides_replace_the_reward_hook_and_enable_the_tool_loop():
    cfg = load_config(overrides=["multi_turn.max_calls=3"], env=False)
    single = build_overrides(cfg, "/run/r.yaml")
    multi = build_overrides(cfg, "/run/r.yaml", tool_config="/run/verl_sql_tool.yaml")
    k = _keys(multi)
    assert len(k) == len(multi)  # no key given twice (hydra refuses that)
    assert k["actor_rollout_ref.rollout.multi_turn.enable"] == "True"
    assert k["actor_rollout_ref.rollout.multi_turn.format"] == "hermes"
    assert k["actor_rollout_ref.rollout.multi_turn.max_assistant_turns"] == "4"
    assert k["actor_rollout_ref.rollout.multi_turn.tool_config_path"] == "/run/verl_sql_tool.yaml"
    assert k["actor_rollout_ref.rollout.agent.default_agent_loop"] == "tool_agent"
    assert k["reward.custom_reward_function.path"].endswith("extensions/integrations/verl/episode.py")
    assert _keys(single)["reward.custom_reward_function.path"].endswith("verl_hook.py")
    assert not any("multi_turn" in o for o in single)


def test_print_with_write_config_writes_a_tool_yaml_verl_loads(tmp_path, capsys):
    reward = tmp_path / "reward_config.yaml"
    assert (
        main(
            [
                "--config",
                "configs/train_24gb.yaml",
                "--multi-turn",
                "--print",
                "--write-config",
                str(reward),
                "--set",
                "multi_turn.max_rows=4",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    tool_yaml = tmp_path / "verl_sql_tool.yaml"
    assert f"tool_config_path={tool_yaml}" in out
    spec = yaml.safe_load(tool_yaml.read_text())
    assert spec["tools"][0]["config"]["config"] == str(reward)
    registry = require("verl.tools.tool_registry")
    (tool,) = registry.initialize_tools_from_config(str(tool_yaml))
    assert tool.limits.max_rows == 4


def test_print_without_write_config_names_the_tool_yaml_and_writes_nothing(tmp_path, capsys):
    out_dir = tmp_path / "out"
    assert (
        main(
            ["--config", "configs/train_24gb.yaml", "--multi-turn", "--print", "--set", f"logging.output_dir={out_dir}"]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert f"tool_config_path={out_dir / 'verl_sql_tool.yaml'}" in captured.out
    assert "not written" in captured.err and not out_dir.exists()
