"""TRL reward functions backed by :class:`~extensions.rewards.combine.RewardComputer`.

TRL's ``GRPOTrainer`` calls each reward function as
``fn(prompts=..., completions=..., completion_ids=..., **dataset_columns)`` and logs
``rewards/<function name>/mean`` for each. :func:`make_reward_funcs` returns the total reward
(weight 1) plus one zero-weight function per component, so every component is logged as its
own metric while only the total drives the advantage. The breakdown of each
(completion, ground truth) is computed once, a batch at a time, and shared by all functions
through one :class:`~extensions.integrations.breakdown_cache.BreakdownCache`.

>>> from extensions.rewards.combine import RewardComputer
>>> funcs, weights = make_reward_funcs(RewardComputer(), components=("acc", "syntax"))
>>> [f.__name__ for f in funcs], weights
(['sql_reward', 'acc', 'syntax'], [1.0, 0.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from extensions.errors import ConfigError
from extensions.integrations.breakdown_cache import BreakdownCache, completion_text
from extensions.integrations.computers import get_computer
from extensions.rewards.combine import RewardComputer

PLAIN_COMPONENTS = ("baseline", "acc", "format_ok", "executed")
DEFAULT_COMPONENTS = (*PLAIN_COMPONENTS, "schema", "structural", "syntax", "hallucinations")

RewardBatcher = BreakdownCache  # the name this class had before; it is a cache
__all__ = [
    "DEFAULT_COMPONENTS",
    "PLAIN_COMPONENTS",
    "BreakdownCache",
    "RewardBatcher",
    "completion_text",
    "make_reward_funcs",
]


def make_reward_funcs(
    computer: RewardComputer | None = None,
    *,
    components: Sequence[str] | None = None,
    ground_truth_key: str = "ground_truth",
    config: str | None = None,
    overrides: Iterable[str] | str = (),
) -> tuple[list[Callable[..., list[float]]], list[float]]:
    """``(reward_funcs, reward_weights)`` for ``GRPOTrainer`` / ``GRPOConfig(reward_weights=...)``.

    Args:
        computer: the reward computer; when ``None`` it is built from ``config`` and ``overrides``.
        components: breakdown keys logged as zero-weight functions; None logs ``DEFAULT_COMPONENTS`` when
            shaping is on and ``PLAIN_COMPONENTS`` when it is off (the shaping keys would only log zeros).
        ground_truth_key: the dataset column holding the ground truth.
        config: a YAML config path (else ``$EXTENSIONS_CONFIG``, else defaults).
        overrides: ``section.key=value`` items (a list or a comma-separated string).

    Returns:
        The functions (``sql_reward`` first) and their weights (1 for the total, 0 for the rest).

    Raises:
        ConfigError: the config cannot be built or a component is unknown; the message names it.

    >>> make_reward_funcs(overrides=["reward.baselin=arctic"])
    Traceback (most recent call last):
    ...
    extensions.errors.ConfigError: reward.baselin: unknown key (got 'arctic'); did you mean reward.baseline?
    """
    computer = computer if computer is not None else get_computer(config=config, overrides=overrides)
    if components is None:
        components = DEFAULT_COMPONENTS if computer.enable_enhanced else PLAIN_COMPONENTS
    unknown = [c for c in components if c not in computer.keys]
    if unknown:
        raise ConfigError(f"unknown component(s) {unknown}; available: {', '.join(computer.keys)}")
    cache = BreakdownCache(computer)

    def make(key: str, name: str) -> Callable[..., list[float]]:
        def fn(prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **kwargs: Any) -> list[float]:
            gts = kwargs.get(ground_truth_key)
            completions = list(completions) if completions is not None else []
            gts = list(gts) if gts is not None else [None] * len(completions)
            return [b[key] for b in cache.breakdowns(completions, gts)]

        fn.__name__ = name
        fn.__qualname__ = name
        return fn

    funcs = [make("score", "sql_reward")] + [make(c, c) for c in components]
    weights = [1.0] + [0.0] * len(components)
    return funcs, weights
