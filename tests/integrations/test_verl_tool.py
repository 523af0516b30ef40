"""SQLTool through verl 0.9's own registry, and through its tool agent loop's tool-call path (no inference server)."""

from __future__ import annotations

import asyncio
import json
import pathlib
import types

import pytest

from tests.conftest import require

require("verl")

from verl.tools.tool_registry import initialize_tools_from_config  # noqa: E402 - after the dependency check

from extensions.integrations.verl.episode import compute_score  # noqa: E402 - after the dependency check
from extensions.integrations.verl.tool import SQLTool  # noqa: E402 - after the dependency check
from extensions.tool.prompt import tools_kwargs  # noqa: E402 - after the dependency check

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL_YAML = ROOT / "configs" / "verl_sql_tool.yaml"


@pytest.fixture(scope="module")
def tool() -> SQLTool:
    tools = initialize_tools_from_config(str(TOOL_YAML))
    assert len(tools) == 1 and isinstance(tools[0], SQLTool) and tools[0].name == "execute_sql"
    return tools[0]


def test_create_execute_release_answers_a_real_query_and_a_hostile_one(tool, demo_paths):
    async def episode() -> tuple:
        iid, _ = await tool.create(create_kwargs={"db_path": demo_paths["hr"]})
        good = await tool.execute(iid, {"query": "SELECT count(*) AS n FROM employees"})
        bad = await tool.execute(iid, {"query": "ATTACH 'x.sqlite' AS x; DROP TABLE employees"})
        await tool.release(iid)
        gone = await tool.execute(iid, {"query": "SELECT 1"})
        return good, bad, gone

    (good, r1, m1), (bad, _, m2), (gone, _, _) = asyncio.run(episode())
    assert good.text == "n\n60\n(1 row)" and r1 == 0.0 and m1["tool_calls"] == 1.0
    assert bad.text.startswith("error: forbidden")
    assert m2 == {"tool_calls": 2.0, "tool_errors": 1.0, "tool_budget_spent": 0.0}
    assert gone.text.startswith("error: unknown tool instance")


def test_create_takes_the_database_from_a_db_id_under_db_root(demo_dir):
    tool = SQLTool({"type": "native", "db_root": f"{demo_dir}/database"}, None)

    async def run() -> str:
        iid, _ = await tool.create("fixed-id", db_id="store")
        return (await tool.execute(iid, {"query": "SELECT count(*) > 0 FROM sqlite_master"}))[0].text

    assert asyncio.run(run()).splitlines()[1] == "1"


def _agent_loop():
    """verl's agent loop module; its own imports (cachetools, fastapi, ...) come with the verl extra."""
    return require("verl.experimental.agent_loop.tool_agent_loop")


def _agent_data(kwargs: dict):
    return _agent_loop().AgentData(
        messages=[],
        image_data=None,
        video_data=None,
        audio_data=None,
        mm_processor_kwargs=None,
        metrics={},
        request_id="r0",
        tools_kwargs=kwargs,
    )


class _Text:
    """A stand-in tokenizer whose decode returns one fixed model output (the parser only decodes)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def decode(self, ids: list[int], **kwargs: object) -> str:
        return self.text


def test_agent_loop_tool_call_path_counts_the_episode_budget(tool, demo_paths):
    """Model text -> verl's hermes parser -> ToolAgentLoop._call_tool (create/execute/release per call)."""
    agent_loop = _agent_loop()
    from verl.experimental.agent_loop.tool_parser import ToolParser

    loop = object.__new__(agent_loop.ToolAgentLoop)  # the loop's own methods, without a rollout server
    loop.tools = {tool.name: tool}
    loop.max_tool_response_length, loop.tool_response_truncate_side = 2000, "right"
    calls = "".join(
        f'<tool_call>\n{{"name": "execute_sql", "arguments": {json.dumps({"query": q})}}}\n</tool_call>'
        for q in ["SELECT name FROM departments ORDER BY id LIMIT 1", "SELEC 1"] + ["SELECT 1"] * 4
    )
    parser = ToolParser.get_tool_parser("hermes", _Text(calls))
    data = _agent_data(tools_kwargs(demo_paths["hr"], "hr"))

    async def run() -> list:
        _, parsed = await parser.extract_tool_calls([0], [tool.tool_schema])
        return [await loop._call_tool(c, data.tools_kwargs, data) for c in parsed]

    out = asyncio.run(run())
    texts = [r[0].text for r in out]
    assert len(out) == 6 and texts[0].splitlines()[0] == "name" and texts[1].startswith("error: syntax error")
    assert texts[5].startswith("error: call budget spent (5 of 5 calls)")
    assert {k: data.extra_fields[k] for k in ("tool_calls", "tool_errors", "tool_budget_spent")} == {
        "tool_calls": 5,
        "tool_errors": 1,
        "tool_budget_spent": 1,
    }
    gt = {"sql": "SELECT 1", "db_path": demo_paths["hr"]}
    b = compute_score("demo", "<answer>```sql\nSELECT 1\n```</answer>", gt, dict(data.extra_fields))
    assert (b["tool_calls"], b["tool_errors"], b["tool_budget_spent"], b["acc"]) == (5.0, 1.0, 1.0, 1.0)


def test_episode_penalties_are_off_by_default_and_configurable(demo_paths):
    gt = {"sql": "SELECT count(*) FROM employees", "db_path": demo_paths["hr"]}
    stats = {"tool_calls": 5, "tool_errors": 2, "tool_budget_spent": 1}
    plain = compute_score("demo", "", gt, stats)
    penalised = compute_score(
        "demo", "", gt, stats, overrides=["multi_turn.no_answer_penalty=-1", "multi_turn.error_penalty=-0.1"]
    )
    assert plain["multi_turn_penalty"] == 0.0
    assert penalised["multi_turn_penalty"] == pytest.approx(-1.2)
    assert penalised["score"] == pytest.approx(plain["score"] - 1.2)
    assert set(plain) == set(penalised)


def test_the_agent_loop_contract_without_the_agent_loop_module(tool, demo_paths):
    """The calls verl 0.9's ToolAgentLoop._call_tool makes, per tool call, with the rollout's extra_fields."""
    data = types.SimpleNamespace(extra_fields={})
    kwargs = tools_kwargs(demo_paths["hr"], "hr")["execute_sql"]

    async def call(query: str) -> str:
        iid, _ = await tool.create(create_kwargs=kwargs.get("create_kwargs", {}))
        try:
            return (await tool.execute(iid, {"query": query}, agent_data=data))[0].text
        finally:
            await tool.release(iid)

    async def episode() -> list[str]:
        first = await asyncio.gather(*(call("SELECT 1") for _ in range(3)))  # max_parallel_calls in one turn
        return list(first) + [await call("DELETE FROM employees") for _ in range(3)]

    texts = asyncio.run(episode())
    assert texts[:3] == ["1\n1\n(1 row)"] * 3 and texts[3].startswith("error: forbidden")
    assert texts[5].startswith("error: call budget spent")
    assert data.extra_fields == {"tool_calls": 5, "tool_errors": 2, "tool_budget_spent": 1}
