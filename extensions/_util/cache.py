"""Bounded, thread-safe LRU of execution results with in-flight de-duplication.

Two bounds keep memory flat over a long run: the number of entries and the
total number of result cells (rows x columns) held. While one thread computes
a key, other threads asking for the same key wait for that result instead of
running the statement again.

>>> c = ResultCache(max_entries=2, max_cells=100)
>>> c.get_or_compute("a", lambda: 1, cost=lambda v: 1)
(1, False)
>>> c.get_or_compute("a", lambda: 2, cost=lambda v: 1)
(1, True)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class _Flight:
    """A computation in progress: its lock is held until the value is ready."""

    __slots__ = ("lock", "value", "error")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.value: object = None
        self.error: BaseException | None = None


class ResultCache(Generic[V]):
    def __init__(self, max_entries: int, max_cells: int = 10_000_000) -> None:
        self.max_entries = max(0, int(max_entries))
        self.max_cells = max(0, int(max_cells))
        self._data: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._inflight: dict[Hashable, _Flight] = {}
        self._cells = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.joined = 0  # requests that waited on an identical in-flight one

    def __len__(self) -> int:
        return len(self._data)

    @property
    def cells(self) -> int:
        return self._cells

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            self._data.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: V, cost: int = 1) -> None:
        """Store ``value`` (evicting least recently used entries past either bound)."""
        with self._lock:
            self._put_locked(key, value, cost)

    def _put_locked(self, key: Hashable, value: V, cost: int) -> None:
        if self.max_entries == 0 or cost > self.max_cells:
            return
        old = self._data.pop(key, None)
        if old is not None:
            self._cells -= old[1]
        self._data[key] = (value, cost)
        self._cells += cost
        while self._data and (len(self._data) > self.max_entries or self._cells > self.max_cells):
            _, (_, c) = self._data.popitem(last=False)
            self._cells -= c

    def get_or_compute(
        self,
        key: Hashable,
        compute: Callable[[], V],
        *,
        cost: Callable[[V], int],
        usable: Callable[[V], bool] = lambda v: True,
        cacheable: Callable[[V], bool] = lambda v: True,
        store: Callable[[V], V] | None = None,
    ) -> tuple[V, bool]:
        """Return ``(value, from_cache)``; ``compute`` runs at most once per key at a time.

        ``store(value)``, when given, is what the cache keeps and what waiting
        and later callers receive; the computing caller gets ``value`` itself.
        """
        with self._lock:
            entry = self._data.get(key)
            if entry is not None and usable(entry[0]):
                self._data.move_to_end(key)
                self.hits += 1
                return entry[0], True
            flight = self._inflight.get(key)
            owner = flight is None
            if owner:
                flight = _Flight()
                self._inflight[key] = flight
                self.misses += 1
            else:
                self.joined += 1
        if not owner:
            flight.lock.acquire()  # released by the owner when the value is ready
            flight.lock.release()
            if flight.error is not None:
                raise flight.error
            if usable(flight.value):
                return flight.value, True
            return self.get_or_compute(key, compute, cost=cost, usable=usable, cacheable=cacheable, store=store)
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                self._inflight.pop(key, None)
            flight.error = exc
            flight.lock.release()
            raise
        shared = value if store is None else store(value)
        with self._lock:
            self._inflight.pop(key, None)
            if cacheable(value):
                self._put_locked(key, shared, cost(value))
        flight.value = shared
        flight.lock.release()
        return value, False

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._cells = 0
