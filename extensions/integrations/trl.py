"""TRL reward functions backed by :class:`~extensions.rewards.combine.EnhancedRewardComputer`.

TRL's ``GRPOTrainer`` calls each reward function as
``fn(prompts=..., completions=..., completion_ids=..., **dataset_columns)`` and
logs ``rewards/<function name>/mean`` for each. :func:`make_reward_funcs`
returns the total reward (weight 1) plus one zero-weight function per
component, so every component is logged as its own metric while only the
total drives the advantage. The full breakdown is computed once per
(completion, ground truth), a batch at a time, and shared by all functions through a small cache.

>>> from extensions.rewards.combine import EnhancedRewardComputer
>>> funcs, weights = make_reward_funcs(EnhancedRewardComputer("arctic"), components=("acc", "syntax"))
>>> [f.__name__ for f in funcs], weights
(['sql_reward', 'acc', 'syntax'], [1.0, 0.0, 0.0])
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from extensions.rewards.combine import EnhancedRewardComputer

DEFAULT_COMPONENTS = ("baseline", "acc", "format_ok", "executed", "schema", "structural", "syntax", "hallucinations")


def completion_text(completion: Any) -> str:
    """Text of a TRL completion: a string, or conversational messages (last assistant content)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, (list, tuple)) and completion:
        last = completion[-1]
        if isinstance(last, dict):
            return str(last.get("content", ""))
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    return "" if completion is None else str(completion)


class RewardBatcher:
    """Computes the breakdowns of a batch once and serves them to every reward function.

    A batch is scored with :meth:`EnhancedRewardComputer.compute_rewards`: its
    distinct statements run first across the worker processes, then every
    sample is scored from cache (the same results as one call per sample).
    """

    def __init__(self, computer: EnhancedRewardComputer, *, cache_size: int = 4096) -> None:
        self.computer = computer
        self._cache: OrderedDict[tuple, dict[str, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.cache_size = cache_size

    @staticmethod
    def _key(text: str, gt: Any) -> tuple:
        return (text, json.dumps(gt, sort_keys=True, default=str))

    def breakdowns(self, completions: Sequence[Any], ground_truths: Sequence[Any]) -> list[dict[str, float]]:
        texts = [completion_text(c) for c in completions]
        keys = [self._key(t, g) for t, g in zip(texts, ground_truths)]
        with self._lock:
            known = {k: self._cache[k] for k in keys if k in self._cache}
        missing = {k: (t, g) for k, t, g in zip(keys, texts, ground_truths) if k not in known}
        if missing:
            todo = list(missing.values())
            results = self.computer.compute_rewards([t for t, _ in todo], [g for _, g in todo])
            for k, r in zip(missing, results):
                known[k] = r.breakdown
            with self._lock:
                for k in missing:
                    self._cache[k] = known[k]
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return [known[k] for k in keys]


def make_reward_funcs(
    computer: EnhancedRewardComputer,
    *,
    components: Sequence[str] = DEFAULT_COMPONENTS,
    ground_truth_key: str = "ground_truth",
) -> tuple[list[Callable[..., list[float]]], list[float]]:
    """``(reward_funcs, reward_weights)`` for ``GRPOTrainer`` / ``GRPOConfig(reward_weights=...)``."""
    unknown = [c for c in components if c not in computer.keys]
    if unknown:
        raise ValueError(f"unknown component(s) {unknown}; available: {', '.join(computer.keys)}")
    batcher = RewardBatcher(computer)

    def make(key: str, name: str) -> Callable[..., list[float]]:
        def fn(prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **kwargs: Any) -> list[float]:
            gts = kwargs.get(ground_truth_key)
            if gts is None:
                gts = [None] * len(completions)
            return [b[key] for b in batcher.breakdowns(completions, gts)]

        fn.__name__ = name
        fn.__qualname__ = name
        return fn

    funcs = [make("score", "sql_reward")] + [make(c, c) for c in components]
    weights = [1.0] + [0.0] * len(components)
    return funcs, weights
