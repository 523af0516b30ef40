"""Memoisation for the pure SQL functions, bounded in bytes as well as entries.

``functools.lru_cache`` bounds only the number of entries; with 20,000-character
statements and parse trees of hundreds of bytes per node, 8,192 entries can hold
gigabytes. :func:`memoize` keeps the same calling convention but charges every
entry an estimated size in bytes (:func:`text_bytes` for keys, a caller-given
estimate for values) against a byte budget, evicting least recently used
entries past either bound.

>>> @memoize(max_entries=100, max_bytes=1_000_000)
... def shout(s: str) -> str:
...     return s.upper()
>>> shout("abc")
'ABC'
>>> clear_caches()
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from extensions._util.cache import ResultCache

R = TypeVar("R")

_ENTRY_OVERHEAD = 256  # the cache's own bookkeeping per entry, and small values
_CACHES: list[ResultCache] = []


def text_bytes(*values: object) -> int:
    """An upper estimate of the bytes held by strings (4 per character) among ``values``.

    Args:
        values: any objects; only strings count.

    Returns:
        Four bytes per character of every string, plus a fixed overhead.

    >>> text_bytes("abcd", 3)
    272
    """
    return _ENTRY_OVERHEAD + sum(4 * len(v) for v in values if isinstance(v, str))


def memoize(
    max_entries: int,
    max_bytes: int,
    value_bytes: Callable[[Any], int] | None = None,
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Decorator: cache a function of hashable positional arguments, bounded in entries and bytes.

    Args:
        max_entries: the most entries kept.
        max_bytes: the most estimated bytes kept (keys and values together).
        value_bytes: estimates a result's size in bytes; None counts only the argument strings.

    Returns:
        The decorator.

    >>> @memoize(10, 10_000, value_bytes=len)
    ... def double(s: str) -> str:
    ...     return s * 2
    >>> double("ab")
    'abab'
    """

    def wrap(fn: Callable[..., R]) -> Callable[..., R]:
        cache: ResultCache = ResultCache(max_entries, max_bytes)
        _CACHES.append(cache)

        @functools.wraps(fn)
        def cached(*args: Any) -> R:
            hit = cache.get(args)
            if hit is not None:
                return hit[0]
            value = fn(*args)
            cost = text_bytes(*args) + (value_bytes(value) if value_bytes is not None else 0)
            cache.put(args, (value,), cost)
            return value

        cached.cache_clear = cache.clear  # type: ignore[attr-defined]  # the lru_cache spelling
        return cached

    return wrap


def clear_caches() -> None:
    """Empty every cache made by :func:`memoize` (parse trees, components, resolutions, keys).

    Returns:
        None.

    >>> clear_caches()
    """
    for cache in _CACHES:
        cache.clear()
