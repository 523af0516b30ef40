"""The system prompt that names the tool, multi-turn prompts, and verl's per-sample ``tools_kwargs``.

A multi-turn prompt is a single-turn prompt (:func:`extensions.data.templates.build_prompt`) whose system
message also says how to use ``execute_sql``; a prompt style without a system message gets one.

>>> msgs = multi_turn_prompt([{"role": "user", "content": "Question: how many?"}], max_calls=3)
>>> msgs[0]["role"], "execute_sql" in msgs[0]["content"], "3" in msgs[0]["content"]
('system', True, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

TOOL_NAME = "execute_sql"
TOOL_DESCRIPTION = (
    "Run one read-only SQL query (SQLite) on the question's database and see its columns and first rows, or the error."
)
QUERY_DESCRIPTION = "One SELECT statement."
TOOL_SYSTEM = (
    "You can call the tool `execute_sql(query)` up to {max_calls} times to run read-only SQLite queries on the "
    "database and read their first rows or their error. Explore when unsure, then give the final answer."
)


def tool_system_prompt(max_calls: int) -> str:
    """The sentence a multi-turn system prompt adds.

    Args:
        max_calls: the episode's call budget.

    Returns:
        The text.

    >>> tool_system_prompt(2).split(" times")[0]
    'You can call the tool `execute_sql(query)` up to 2'
    """
    return TOOL_SYSTEM.format(max_calls=max_calls)


def multi_turn_prompt(messages: Sequence[Mapping[str, Any]], *, max_calls: int) -> list[dict[str, Any]]:
    """``messages`` with the tool sentence added to the system message (or a new system message first).

    Args:
        messages: a single-turn chat prompt.
        max_calls: the episode's call budget, named in the prompt.

    Returns:
        A new list of messages (the input is left unchanged).
    """
    out = [dict(m) for m in messages]
    extra = tool_system_prompt(max_calls)
    if out and out[0].get("role") == "system":
        out[0]["content"] = f"{out[0].get('content', '')}\n{extra}".strip()
    else:
        out.insert(0, {"role": "system", "content": extra})
    return out


def tools_kwargs(db_path: str | None, db_id: str | None = None) -> dict[str, Any]:
    """verl's ``extra_info.tools_kwargs`` for one sample: the database only, never the gold.

    Args:
        db_path: the sample's SQLite file.
        db_id: its database id.

    Returns:
        ``{"execute_sql": {"create_kwargs": {"db_path": ..., "db_id": ...}}}``.

    >>> tools_kwargs("/d/hr.sqlite", "hr")
    {'execute_sql': {'create_kwargs': {'db_path': '/d/hr.sqlite', 'db_id': 'hr'}}}
    """
    return {TOOL_NAME: {"create_kwargs": {"db_path": db_path or "", "db_id": db_id or ""}}}


def openai_tool_schema() -> dict[str, Any]:
    """The tool's OpenAI function schema (verl's YAML and verifiers use the same one).

    Returns:
        ``{"type": "function", "function": {"name": "execute_sql", ...}}``.

    >>> openai_tool_schema()["function"]["parameters"]["required"]
    ['query']
    """
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": TOOL_DESCRIPTION,
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string", "description": QUERY_DESCRIPTION}},
                "required": ["query"],
            },
        },
    }


AGENT_NAME = "tool_agent"  # verl's tool agent loop


def multi_turn_row(row: dict[str, Any], db_path: str | None, db_id: str | None, max_calls: int) -> dict[str, Any]:
    """A prepared row made multi-turn: the tool in the system prompt, verl's ``tools_kwargs`` and ``agent_name``.

    Args:
        row: a prepared row (``prompt``, ``extra_info``, ...).
        db_path: the sample's database file.
        db_id: its database id.
        max_calls: the call budget named in the prompt.

    Returns:
        A new row.

    >>> r = multi_turn_row({"prompt": [], "extra_info": {"index": 0}}, "/d/hr.sqlite", "hr", 5)
    >>> r["agent_name"], sorted(r["extra_info"])
    ('tool_agent', ['index', 'need_tools_kwargs', 'tools_kwargs'])
    """
    extra = {**row.get("extra_info", {}), "need_tools_kwargs": True, "tools_kwargs": tools_kwargs(db_path, db_id)}
    return {
        **row,
        "prompt": multi_turn_prompt(row["prompt"], max_calls=max_calls),
        "extra_info": extra,
        "agent_name": AGENT_NAME,
    }
