"""The reward of a multi-turn episode: the final answer scored by the same computer, plus optional terms.

The final answer is what the model wrote after the last tool response, the same text on every stack
(:func:`final_answer`): in verl's decoded string, the text after the last ``</tool_response>`` with the
chat template's role markers stripped (verl decodes with ``skip_special_tokens=True``, which leaves
``\nassistant\n`` there); in TRL's and verifiers' messages, the last assistant message, its reasoning put
back as ``<think>...</think>``. A tool call the episode ended on (no response) is not part of it. It is
scored by :meth:`~extensions.rewards.combine.RewardComputer.compute_reward` exactly as a single-turn
completion. Two optional terms (``multi_turn.*``, both 0 by default) are added to ``score``:

* ``no_answer_penalty`` when the call budget was spent and the final answer holds no SQL: an answer is
  SQL only when what is extracted from it parses as a statement (:func:`is_sql_answer`), so prose
  ("I do not know.") or an echoed tool error is no answer;
* ``error_penalty`` per tool call that failed.

The breakdown gets fixed extra keys, logged as metrics by every adapter: ``tool_calls``, ``tool_errors``,
``tool_budget_spent`` and ``multi_turn_penalty``.

>>> from extensions.config import MultiTurnConfig
>>> from extensions.rewards.combine import RewardComputer
>>> b = score_episode(RewardComputer(), "", "SELECT 1", EpisodeStats(5, 2, True),
...                   MultiTurnConfig(no_answer_penalty=-0.5))
>>> b["score"], b["tool_calls"], b["tool_errors"], b["multi_turn_penalty"]
(-0.5, 5.0, 2.0, -0.5)
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from extensions._util.log import log_once
from extensions.config import MultiTurnConfig
from extensions.rewards.combine import RewardComputer
from extensions.sql.parse import parse_sql

__all__ = ["EPISODE_KEYS", "EpisodeStats", "final_answer", "is_sql_answer", "score_episode"]

log = logging.getLogger(__name__)

TOOL_RESPONSE_END = "</tool_response>"  # how hermes-style chat templates close a tool's answer
# Special tokens a decoded string keeps when they are not skipped (ChatML, Llama 3, Gemma, sentencepiece).
_SPECIAL_TOKEN = re.compile(r"<\|[A-Za-z0-9_]{1,40}\|>|<(?:start|end)_of_turn>|</?s>|<eos>")
# A role name alone on the first line: what a template's turn header leaves once its special tokens are gone.
_ROLE_LINE = re.compile(r"\A\s*(?:assistant|model|user|system|tool)[ \t]*(?:\n|\Z)")
_TOOL_CALL = re.compile(r"<tool_call>.*?(?:</tool_call>|\Z)", re.DOTALL)
EPISODE_KEYS = ("tool_calls", "tool_errors", "tool_budget_spent", "multi_turn_penalty")


def _count(value: Any) -> int:
    try:
        n = float(value)
    except (TypeError, ValueError):
        return 0
    return int(n) if math.isfinite(n) and n > 0 else 0


@dataclass(frozen=True)
class EpisodeStats:
    """How an episode used the tool: calls run, calls that failed, whether the budget was spent."""

    calls: int = 0
    errors: int = 0
    budget_spent: bool = False

    @classmethod
    def from_mapping(cls, m: Any) -> EpisodeStats:
        """Read ``tool_calls``, ``tool_errors``, ``tool_budget_spent`` (verl's ``extra_info``); junk reads as 0.

        Args:
            m: a mapping, or anything else (zero stats).

        Returns:
            The stats.

        >>> EpisodeStats.from_mapping({"tool_calls": 3, "tool_errors": "x", "tool_budget_spent": 1})
        EpisodeStats(calls=3, errors=0, budget_spent=True)
        """
        if not isinstance(m, Mapping):
            return cls()
        return cls(_count(m.get("tool_calls")), _count(m.get("tool_errors")), _count(m.get("tool_budget_spent")) > 0)


def _strip_turn(text: str) -> str:
    """``text`` without special tokens, leading role lines and tool calls that got no response."""
    text = _TOOL_CALL.sub("", _SPECIAL_TOKEN.sub("", text))
    while True:
        m = _ROLE_LINE.match(text)
        if m is None:
            return text.strip()
        text = text[m.end() :]


def _message_text(m: Mapping[str, Any]) -> str:
    """An assistant message's text, its reasoning (``reasoning_content``) put back in front as ``<think>``."""
    content = m.get("content")
    if isinstance(content, (list, tuple)):  # content parts
        parts = [p.get("text") for p in content if isinstance(p, Mapping)]
        content = "".join(t for t in parts if isinstance(t, str))
    content = content if isinstance(content, str) else ""
    reasoning = m.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning.strip() and "<think>" not in content:
        content = f"<think>{reasoning}</think>{content}"
    return content


def final_answer(completion: Any) -> str:
    """The text to score: what follows the last tool response, role markers and unanswered tool calls removed.

    Args:
        completion: chat messages (assistant, tool, assistant, ...) as dicts, or one decoded string
            (verl's), whose tool answers are ``<tool_response>...</tool_response>`` blocks.

    Returns:
        The final answer text (``""`` when there is none).

    >>> final_answer([{"role": "assistant", "content": "a"}, {"role": "tool", "content": "t"}])
    'a'
    >>> final_answer("<tool_call>{}</tool_call>user\\n<tool_response>\\nrows\\n</tool_response>\\nassistant\\nfinal")
    'final'
    >>> final_answer([{"role": "assistant", "content": "<answer>x</answer>", "reasoning_content": "r"}])
    '<think>r</think><answer>x</answer>'
    """
    if isinstance(completion, str):
        return _strip_turn(completion.rpartition(TOOL_RESPONSE_END)[2])
    if isinstance(completion, (list, tuple)):
        for m in reversed(completion):
            if isinstance(m, Mapping) and m.get("role") == "assistant":
                return _strip_turn(_message_text(m))
    return ""


def is_sql_answer(sql: Any) -> bool:
    """Whether extracted text is an answer: it parses as an SQL statement (prose and tool errors do not).

    Args:
        sql: what the extraction returned (``None`` when it found nothing).

    Returns:
        True for a query or any other statement (a write is an answer, scored as forbidden).

    >>> is_sql_answer("SELECT name FROM t"), is_sql_answer("I do not know."), is_sql_answer("assistant")
    (True, False, False)
    """
    if not isinstance(sql, str) or not sql.strip():
        return False
    parsed = parse_sql(sql)
    return parsed.expression is not None and (parsed.is_query or parsed.is_write)


def _terms(stats: EpisodeStats, answered: bool, cfg: MultiTurnConfig) -> float:
    penalty = cfg.error_penalty * stats.errors
    if stats.budget_spent and not answered:
        penalty += cfg.no_answer_penalty
    return penalty


def score_episode(
    computer: RewardComputer,
    completion: Any,
    ground_truth: Any,
    stats: EpisodeStats,
    cfg: MultiTurnConfig,
    *,
    extra_info: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """The breakdown of one episode: the computer's keys (``score`` with the terms added) and :data:`EPISODE_KEYS`.

    Args:
        computer: the reward computer (the same one single-turn training uses).
        completion: the episode (text or chat messages).
        ground_truth: the sample's ground truth.
        stats: how the episode used the tool.
        cfg: the ``multi_turn`` config section.
        extra_info: verl's ``extra_info`` (database fields).

    Returns:
        Finite floats under fixed keys. Never raises.
    """
    try:
        result = computer.compute_reward(final_answer(completion), ground_truth, extra_info=extra_info)
        out = dict(result.breakdown)
        penalty = _terms(stats, is_sql_answer(result.details.get("sql")), cfg)
    except Exception as exc:  # noqa: BLE001 - compute_reward never raises; this is belt and braces
        log_once(log, f"episode:{type(exc).__name__}", "internal error scoring an episode: %r", exc, exc_info=True)
        out, penalty = dict.fromkeys(computer.keys, 0.0), 0.0
        out["status_internal_error"] = 1.0
    out["score"] = float(out.get("score", 0.0)) + penalty
    out.update(
        tool_calls=float(stats.calls),
        tool_errors=float(stats.errors),
        tool_budget_spent=float(stats.budget_spent),
        multi_turn_penalty=float(penalty),
    )
    return out
