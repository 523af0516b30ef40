"""One episode, one reward, on every stack: the same transcript through verl, TRL and verifiers 0.4.

Each episode of ``tests/fixtures/multi_turn_episodes.json`` is played through each stack's real tool-call
path (verl: its hermes parser and ``ToolAgentLoop._call_tool``; TRL: ``GRPOTrainer._tool_call_loop``'s
dispatch, ``tool(**arguments)`` with its ``except``; verifiers 0.4: the MCP server's ``call_tool``, in a venv of
its own) and scored by each stack's episode reward. Score, tool calls and failed calls are the same, and are
the fixture's.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import subprocess

import pytest

from extensions.config import load_config
from extensions.integrations.trl_env import SqlEnvironment, make_episode_reward_funcs
from extensions.rewards.combine import RewardComputer
from extensions.tool.prompt import TOOL_NAME, tools_kwargs
from tests.conftest import FIXTURES, require
from tests.venvs import LIGHT_DEPS, check, new_venv, pip, skip_if_registry_unreachable, source_copy

SPEC = json.loads((FIXTURES / "multi_turn_episodes.json").read_text())
EPISODES = SPEC["episodes"]
SCRIPT = pathlib.Path(__file__).parent / "scripts" / "verifiers_v1_parity_check.py"


def _call_text(arguments: dict) -> str:
    return f"<tool_call>\n{json.dumps({'name': TOOL_NAME, 'arguments': arguments})}\n</tool_call>"


def verl_outcome(episode: dict, hr: str) -> dict:
    """verl: each turn's text through the hermes parser and ``_call_tool``; the response decoded as verl does."""
    require("verl")
    from verl.experimental.agent_loop.tool_parser import ToolParser
    from verl.tools.tool_registry import initialize_tools_from_config

    from extensions.integrations.verl.episode import compute_score
    from tests.integrations.test_verl_tool import _agent_data, _agent_loop, _Text

    agent_loop = _agent_loop()
    (tool,) = initialize_tools_from_config(
        str(pathlib.Path(__file__).resolve().parents[2] / "configs/verl_sql_tool.yaml")
    )
    tool.limits = load_config(overrides=SPEC["overrides"]).multi_turn.tool_limits()
    loop = object.__new__(agent_loop.ToolAgentLoop)
    loop.tools = {tool.name: tool}
    loop.max_tool_response_length, loop.tool_response_truncate_side = 100_000, "right"
    data = _agent_data(tools_kwargs(hr, "hr"))
    # Qwen2.5's ChatML with the special tokens skipped (skip_special_tokens=True): what verl hands the reward.
    decoded = ""

    async def turn(text: str) -> list[str]:
        _, calls = await ToolParser.get_tool_parser("hermes", _Text(text)).extract_tool_calls([0], [tool.tool_schema])
        return [(await loop._call_tool(c, data.tools_kwargs, data))[0].text for c in calls]

    answers = []
    for arguments in episode["calls"]:
        text = _call_text(arguments)
        (answer,) = asyncio.run(turn(text))
        answers.append(answer)
        decoded += f"{text}\nuser\n<tool_response>\n{answer}\n</tool_response>\nassistant\n"
    final = episode["final"]
    if final.get("reasoning"):
        decoded += f"<think>{final['reasoning']}</think>"
    decoded += final["content"]
    if "unanswered_call" in final:  # the turn limit ends the episode before the call runs
        decoded += _call_text(final["unanswered_call"])
    b = compute_score(
        "demo", decoded, {"sql": SPEC["gold"], "db_path": hr}, dict(data.extra_fields), overrides=SPEC["overrides"]
    )
    return {"score": b["score"], "tool_calls": b["tool_calls"], "tool_errors": b["tool_errors"], "answers": answers}


def trl_outcome(episode: dict, hr: str) -> dict:
    """TRL: ``GRPOTrainer._tool_call_loop``'s dispatch and message shapes, then the episode reward functions."""
    cfg = load_config(overrides=SPEC["overrides"])
    computer = RewardComputer(cfg)
    env = SqlEnvironment(cfg.multi_turn.tool_limits(), computer.engine)
    gt = {"sql": SPEC["gold"], "db_path": hr}
    env.reset(ground_truth=gt)
    tools = {TOOL_NAME: env.execute_sql}
    messages, answers = [], []
    for arguments in episode["calls"]:
        call = {"type": "function", "function": {"name": TOOL_NAME, "arguments": arguments}}
        messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        try:  # as TRL 1.16 does it
            result = tools[TOOL_NAME](**call["function"]["arguments"])
        except Exception as e:  # noqa: BLE001 - TRL's own except
            result = {"error": str(e)}
        answers.append(str(result))
        messages.append({"role": "tool", "name": TOOL_NAME, "content": str(result)})
    final = episode["final"]
    last: dict = {"role": "assistant", "content": final["content"]}
    if final.get("reasoning"):
        last["reasoning_content"] = final["reasoning"]
    if "unanswered_call" in final:
        last["tool_calls"] = [
            {"type": "function", "function": {"name": TOOL_NAME, "arguments": final["unanswered_call"]}}
        ]
    messages.append(last)
    funcs, _ = make_episode_reward_funcs(computer, cfg.multi_turn)
    by_name = {f.__name__: f for f in funcs}
    kw = {"prompts": [[]], "completions": [messages], "ground_truth": [gt], "environments": [env]}
    out = {
        k: by_name[n](**kw)[0]
        for k, n in (("score", "sql_reward"), ("tool_calls", "tool_calls"), ("tool_errors", "tool_errors"))
    }
    return {**out, "answers": answers}


@pytest.mark.parametrize("episode", EPISODES, ids=[e["name"] for e in EPISODES])
def test_verl_and_trl_give_the_same_episode_the_same_reward_and_counts(episode, demo_paths):
    hr = demo_paths["hr"]
    verl, trl = verl_outcome(episode, hr), trl_outcome(episode, hr)
    assert verl["answers"] == trl["answers"]  # the model read the same tool answers
    for out in (verl, trl):
        got = {k: out[k] for k in ("score", "tool_calls", "tool_errors")}
        assert got == pytest.approx(episode["expected"]), got


@pytest.mark.slow
def test_verifiers_gives_the_same_episodes_the_same_reward_and_counts(tmp_path, demo_dir, demo_paths):
    """The same transcripts through verifiers 0.4's MCP tool path and its task scoring, in a venv."""
    skip_if_registry_unreachable("verifiers==0.4.0", tmp_path)
    python = new_venv(tmp_path / "venv")
    check(pip(python, "install", "-q", "verifiers==0.4.0", *LIGHT_DEPS))
    check(pip(python, "install", "-q", "--no-deps", str(source_copy(tmp_path / "src"))))
    env = {**os.environ, "EXTENSIONS_DEMO_DIR": demo_dir}
    env.pop("PYTHONPATH", None)
    args = [str(python), str(SCRIPT), str(FIXTURES / "multi_turn_episodes.json"), demo_paths["hr"]]
    p = check(subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600))
    out = json.loads(p.stdout.strip().splitlines()[-1])
    hr = demo_paths["hr"]
    for episode in EPISODES:
        got = out[episode["name"]]
        assert got["answers"] == trl_outcome(episode, hr)["answers"]
        assert {k: got[k] for k in ("score", "tool_calls", "tool_errors")} == pytest.approx(episode["expected"])
