"""One breakdown per (completion, ground truth), computed a batch at a time and kept in a byte-bounded LRU.

Trainer adapters (TRL, verifiers) call several reward functions over the same batch, one per
logged component; this cache scores each (completion text, ground truth) once and serves the
breakdown to all of them. Memory is bounded in bytes: each entry costs its key's text plus a
fixed estimate for the breakdown dict.

>>> from extensions.rewards.combine import RewardComputer
>>> cache = BreakdownCache(RewardComputer(), max_entries=8, max_bytes=1 << 20)
>>> [b["status_gold_error"] for b in cache.breakdowns(["SELECT 1", "SELECT 1"], [None, None])]
[1.0, 1.0]
>>> cache.stats()["entries"]
1
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from extensions._util.cache import ResultCache
from extensions._util.forksafe import ForkSafeLock
from extensions.rewards.combine import RewardComputer

DEFAULT_MAX_ENTRIES = 4096
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def completion_text(completion: Any) -> str:
    """Text of a completion: a string, or conversational messages (the last message's content).

    Args:
        completion: a string, a list of ``{"role", "content"}`` messages, one message, or anything else.

    Returns:
        The text to score (``""`` for ``None``).

    >>> completion_text([{"role": "assistant", "content": "SELECT 1"}])
    'SELECT 1'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, (list, tuple)) and completion:
        last = completion[-1]
        if isinstance(last, dict):
            return str(last.get("content", ""))
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    return "" if completion is None else str(completion)


def ground_truth_key(ground_truth: Any) -> str:
    """A canonical string for a ground truth (a JSON string is used as it is).

    >>> ground_truth_key({"sql": "SELECT 1", "db_id": "a"}) == ground_truth_key({"db_id": "a", "sql": "SELECT 1"})
    True
    """
    if isinstance(ground_truth, str):
        return ground_truth
    return json.dumps(ground_truth, sort_keys=True, default=str)


class BreakdownCache:
    """Breakdowns of an :class:`RewardComputer`, shared by the reward functions of one adapter.

    Args:
        computer: the reward computer.
        max_entries: most breakdowns kept.
        max_bytes: most bytes kept (keys' text plus a fixed estimate per breakdown).
    """

    def __init__(
        self,
        computer: RewardComputer,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.computer = computer
        self._cache: ResultCache[dict[str, float]] = ResultCache(max_entries, max_bytes)
        self._entry_bytes = sys.getsizeof(dict.fromkeys(computer.keys, 0.0)) + 24 * len(computer.keys)
        self.hits = 0
        self.misses = 0
        self._counts = ForkSafeLock()

    def _cost(self, key: tuple[str, str]) -> int:
        return self._entry_bytes + sys.getsizeof(key[0]) + sys.getsizeof(key[1])

    def breakdowns(self, completions: Sequence[Any], ground_truths: Sequence[Any]) -> list[dict[str, float]]:
        """One breakdown per completion; the pairs not cached yet are scored as one batch.

        Args:
            completions: strings or conversational messages.
            ground_truths: one per completion (a missing one is ``None``).

        Returns:
            The breakdowns, in order (shared dicts: do not modify them).
        """
        texts = [completion_text(c) for c in completions]
        gts = [ground_truths[i] if i < len(ground_truths) else None for i in range(len(texts))]
        keys = [(t, ground_truth_key(g)) for t, g in zip(texts, gts)]
        found: dict[tuple[str, str], dict[str, float]] = {}
        todo: dict[tuple[str, str], tuple[str, Any]] = {}
        for k, t, g in zip(keys, texts, gts):
            hit = found.get(k) or self._cache.get(k)
            if hit is not None:
                found[k] = hit
            elif k not in todo:
                todo[k] = (t, g)
        with self._counts:
            self.misses += len(todo)
            self.hits += len(keys) - len(todo)
        if todo:
            results = self.computer.compute_rewards([t for t, _ in todo.values()], [g for _, g in todo.values()])
            for k, r in zip(todo, results):
                found[k] = r.breakdown
                self._cache.put(k, r.breakdown, self._cost(k))
        return [found[k] for k in keys]

    def stats(self) -> dict[str, int]:
        """``entries`` held, and the ``hits`` and ``misses`` of the completions asked for."""
        return {"entries": len(self._cache), "hits": self.hits, "misses": self.misses}
