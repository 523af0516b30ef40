"""Supervised warm-up on tool-using transcripts, so that a model learns the tool-call format before GRPO.

A transcript is the multi-turn prompt, then tool calls with the sandbox's real answers: a look at the first
table the gold query reads (``SELECT * FROM t LIMIT 3``), then the gold query itself (explore, check,
answer), and the final answer (:func:`extensions.training.data.gold_completion`). It is rendered with the
same chat template and tool schema TRL uses for the rollouts; the loss covers only the assistant turns.

>>> t = transcript({"prompt": [{"role": "user", "content": "Q"}], "ground_truth": {"sql": "SELECT 1"}},
...                [("SELECT 1", "1\\n1\\n(1 row)")])
>>> [m["role"] for m in t], t[1]["tool_calls"][0]["function"]["arguments"]
(['user', 'assistant', 'tool', 'assistant'], {'query': 'SELECT 1'})
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from extensions.defaults.tool import ToolLimits
from extensions.execution.engine import ExecutionEngine
from extensions.tool.prompt import TOOL_NAME
from extensions.tool.sql_tool import run_query
from extensions.training.data import gold_completion
from extensions.training.sft import Encoded, train_sft

_FROM = re.compile(r"\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


def exploration_query(sql: str) -> str | None:
    """A first look at the table the query reads first, or None when there is no ``FROM name``.

    Args:
        sql: the gold query.

    Returns:
        ``SELECT * FROM <table> LIMIT 3``.

    >>> exploration_query("SELECT count(*) FROM employees AS e JOIN departments d ON e.department_id = d.id")
    'SELECT * FROM employees LIMIT 3'
    """
    m = _FROM.search(sql)
    return f"SELECT * FROM {m.group(1)} LIMIT 3" if m else None


def transcript(row: dict, calls: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The messages of one tool-using episode for ``row``.

    Args:
        row: ``{"prompt": messages, "ground_truth": {"sql": ...}}``.
        calls: ``(query, tool answer)`` in order.

    Returns:
        Chat messages: the prompt, each tool call and its answer, the final answer.
    """
    out = list(row["prompt"])
    for query, answer in calls:
        call = {"type": "function", "function": {"name": TOOL_NAME, "arguments": {"query": query}}}
        out += [
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "name": TOOL_NAME, "content": answer},
        ]
    return out + [{"role": "assistant", "content": gold_completion(row["ground_truth"]["sql"])}]


def transcripts(rows: list[dict], limits: ToolLimits, engine: ExecutionEngine) -> list[list[dict[str, Any]]]:
    """One transcript per row (a look at a table, the gold query, the answer), the tool answers from the sandbox.

    Args:
        rows: training rows with ``ground_truth`` ``{"sql", "db_path"}``.
        limits: the tool's bounds (what the answers look like).
        engine: the execution engine.

    Returns:
        The transcripts.
    """
    out = []
    for r in rows:
        gold, db = r["ground_truth"]["sql"], r["ground_truth"].get("db_path")
        queries = [q for q in (exploration_query(gold), gold) if q]
        out.append(transcript(r, [(q, run_query(db, q, limits, engine).text) for q in queries]))
    return out


def encode(tok: Any, messages: list[dict], tools: list[Callable]) -> Encoded:
    """Token ids of a transcript and its labels (-100 outside the assistant turns).

    Args:
        tok: a fast tokenizer whose chat template renders tools.
        messages: the transcript.
        tools: the tool functions (rendered in the system prompt, as TRL does).

    Returns:
        ``(input_ids, labels)``.
    """

    def render(msgs: list[dict], gen: bool = False) -> str:
        return tok.apply_chat_template(msgs, tools=tools, tokenize=False, add_generation_prompt=gen)

    text = render(messages)
    spans = [
        (len(render(messages[:k], True)), len(render(messages[: k + 1])))
        for k, m in enumerate(messages)
        if m["role"] == "assistant"
    ]
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    pairs = zip(enc["input_ids"], enc["offset_mapping"])
    labels = [t if any(a <= s < b for a, b in spans) else -100 for t, (s, _) in pairs]
    return enc["input_ids"], labels


def encode_transcripts(tok: Any, rows: list[dict], limits: ToolLimits, engine: ExecutionEngine) -> list[Encoded]:
    """The encoded transcript of every row, rendered with the ``execute_sql`` tool as TRL renders rollouts.

    Args:
        tok: a fast tokenizer whose chat template renders tools.
        rows: training rows with ``ground_truth`` ``{"sql", "db_path"}``.
        limits: the tool's bounds (what the answers look like).
        engine: the execution engine.

    Returns:
        ``(input_ids, labels)`` per row (:func:`encode`).
    """
    from extensions.integrations.trl_env import SqlEnvironment

    tools = [SqlEnvironment().execute_sql]
    return [encode(tok, t, tools) for t in transcripts(rows, limits, engine)]


def tool_sft(
    model: Any,
    tok: Any,
    rows: list[dict],
    steps: int,
    *,
    limits: ToolLimits,
    engine: ExecutionEngine,
    lr: float,
    batch: int,
    out_dir: str,
    seed: int,
    micro_batch: int | None = None,
) -> list[float]:
    """Fine-tune on the rows' tool-using transcripts with the one SFT loop (:func:`~extensions.training.sft.train_sft`).

    Args:
        model: the causal LM (its trainable parameters are updated in place).
        tok: its tokenizer (the tool chat template, a pad token).
        rows: multi-turn training rows.
        steps: optimizer steps.
        limits: the tool's bounds.
        engine: the execution engine (the tool answers).
        lr: learning rate (linearly decayed to zero).
        batch: transcripts per step.
        out_dir: where ``sft_metrics.jsonl`` goes.
        seed: batch sampling seed.
        micro_batch: transcripts per forward pass (the same step, less memory); None: all at once.

    Returns:
        The loss of every step.
    """
    encoded = encode_transcripts(tok, rows, limits, engine)
    return train_sft(
        model,
        encoded,
        steps,
        lr=lr,
        batch=batch,
        pad_id=tok.pad_token_id,
        out_dir=out_dir,
        seed=seed,
        micro_batch=micro_batch,
        desc="sft warm-up (tool transcripts)",
    )
