"""verl reward hook for multi-turn episodes: the final answer scored as usual, plus the tool metrics.

Point ``reward.custom_reward_function`` at this module's ``compute_score`` (``verl_launch --multi-turn``
does). verl passes the episode's ``extra_fields`` (filled by :class:`extensions.integrations.verl.tool.SQLTool`)
inside ``extra_info``; the breakdown adds ``tool_calls``, ``tool_errors``, ``tool_budget_spent`` and
``multi_turn_penalty`` to the usual keys, so verl logs them per step. ``reward_kwargs`` are those of
:func:`extensions.integrations.verl.hook.compute_score` (``config``, ``overrides``, ``db_root``); the
optional terms come from that config's ``multi_turn`` section.

>>> b = compute_score("demo", "", "SELECT 1", {"tool_calls": 2, "tool_errors": 1})
>>> b["tool_calls"], b["tool_errors"], b["score"]
(2.0, 1.0, 0.0)
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from typing import Any

from extensions.config import MultiTurnConfig, load_config
from extensions.integrations import computers
from extensions.integrations.verl.hook import VERL_KWARGS, get_computer
from extensions.rewards.episode import EpisodeStats, score_episode

__all__ = ["compute_score", "compute_score_async"]


@functools.lru_cache(maxsize=64)
def _multi_turn(key: tuple[str, tuple[str, ...], str]) -> MultiTurnConfig:
    path, overrides, _ = key
    return load_config(path or None, overrides=list(overrides)).multi_turn


def multi_turn_config(**kwargs: Any) -> MultiTurnConfig:
    """The ``multi_turn`` section for these ``reward_kwargs`` (read once per configuration).

    Args:
        **kwargs: ``config``, ``overrides``, ``db_root`` (verl's own keys are ignored).

    Returns:
        The section.

    Raises:
        ConfigError: the configuration cannot be built.

    >>> multi_turn_config(overrides=["multi_turn.error_penalty=-0.1"]).error_penalty
    -0.1
    """
    return _multi_turn(computers.config_key(kwargs, VERL_KWARGS))


def compute_score(
    data_source: Any = None, solution_str: Any = None, ground_truth: Any = None, extra_info: Any = None, **kwargs: Any
) -> dict[str, float]:
    """Score one multi-turn episode for verl.

    Args:
        data_source: verl's data source (unused).
        solution_str: the decoded episode (assistant turns and tool answers).
        ground_truth: as :func:`extensions.integrations.verl.hook.compute_score`.
        extra_info: the row's ``extra_info`` with the episode's ``tool_calls``/``tool_errors``/``tool_budget_spent``.
        **kwargs: ``reward_kwargs``.

    Returns:
        The breakdown with the tool metrics; finite floats, fixed keys.

    Raises:
        ConfigError: only for a configuration that cannot be built.
    """
    computer = get_computer(**kwargs)
    extra = extra_info if isinstance(extra_info, Mapping) else None
    return score_episode(
        computer,
        solution_str if isinstance(solution_str, str) else "",
        ground_truth,
        EpisodeStats.from_mapping(extra),
        multi_turn_config(**kwargs),
        extra_info=extra,
    )


async def compute_score_async(
    data_source: Any = None, solution_str: Any = None, ground_truth: Any = None, extra_info: Any = None, **kwargs: Any
) -> dict[str, float]:
    """:func:`compute_score` in a thread (verl's reward loop awaits it; the event loop never blocks).

    Args:
        data_source, solution_str, ground_truth, extra_info, **kwargs: as :func:`compute_score`.

    Returns:
        The breakdown.

    >>> asyncio.run(compute_score_async("demo", "", "SELECT 1"))["tool_calls"]
    0.0
    """
    get_computer(**kwargs)  # a config mistake raises here, in the caller
    return await asyncio.to_thread(compute_score, data_source, solution_str, ground_truth, extra_info, **kwargs)
