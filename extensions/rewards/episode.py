"""The reward of a multi-turn episode: the final answer scored by the same computer, plus optional terms.

The final answer is the last assistant message (or the whole text when the episode is one string, as in
verl). It is scored by :meth:`~extensions.rewards.combine.RewardComputer.compute_reward` exactly as a
single-turn completion. Two optional terms (``multi_turn.*``, both 0 by default) are added to ``score``:

* ``no_answer_penalty`` when the call budget was spent and no SQL can be extracted from the final answer;
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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from extensions._util.log import log_once
from extensions.config import MultiTurnConfig
from extensions.rewards.combine import RewardComputer

__all__ = ["EPISODE_KEYS", "EpisodeStats", "final_answer", "score_episode"]

log = logging.getLogger(__name__)

TOOL_RESPONSE_END = "</tool_response>"  # how hermes-style chat templates close a tool's answer
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


def final_answer(completion: Any) -> str:
    """The text to score: the last assistant message's content, or the text after the last tool response.

    Args:
        completion: chat messages (assistant, tool, assistant, ...), or one decoded string (verl's), whose
            tool answers are ``<tool_response>...</tool_response>`` blocks.

    Returns:
        The final answer text (``""`` when there is none).

    >>> final_answer([{"role": "assistant", "content": "a"}, {"role": "tool", "content": "t"}])
    'a'
    >>> final_answer("<tool_call>{}</tool_call><tool_response>\\nrows\\n</tool_response> final")
    ' final'
    """
    if isinstance(completion, str):
        return completion.rpartition(TOOL_RESPONSE_END)[2]
    if isinstance(completion, (list, tuple)):
        for m in reversed(completion):
            if isinstance(m, Mapping) and m.get("role") == "assistant":
                content = m.get("content")
                return content if isinstance(content, str) else ""
    return ""


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
        penalty = _terms(stats, result.details.get("sql") is not None, cfg)
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
