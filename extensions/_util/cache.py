"""Bounded, thread-safe LRU with in-flight de-duplication, budgeted in bytes.

Two bounds keep memory flat over a long run: the number of entries and the
total cost in bytes of the values held (the caller passes each value's cost,
usually :func:`approx_bytes`). While one thread computes a key, other threads
asking for the same key wait for that result instead of computing it again.
Fork-safe: a child forked while other threads use a cache finds it unlocked
and with no computation in flight (those threads do not exist there).

>>> c = ResultCache(max_entries=2, max_bytes=1000)
>>> c.get_or_compute("a", lambda: "x", cost=approx_bytes)
('x', False)
>>> c.get_or_compute("a", lambda: "y", cost=approx_bytes)
('x', True)
>>> c.stats()["entries"]
1
"""

from __future__ import annotations

import marshal
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from extensions._util.forksafe import ForkSafeLock

V = TypeVar("V")

# CPython object sizes on 64-bit builds, rounded: enough to make a budget in
# bytes track real memory within a small factor.
_OBJ = 16
_PTR = 8
_SCALAR = 32
_STR = 49
_TUPLE = 40
_DICT_ENTRY = 100
_MAX_WALK = 100_000  # deeper or wider structures are charged for what was walked, times the rest


def approx_bytes(obj: object) -> int:
    """A cheap estimate of the memory ``obj`` keeps alive, in bytes.

    Rows of a result (a tuple of tuples, however few) are sized from their
    ``marshal`` form plus CPython's overhead per row and cell, without a Python
    loop over them. Anything else is walked: tuples,
    lists and dicts, with str, bytes, int, float and None at their CPython
    sizes; other objects count as their ``__dict__``/``__slots__`` values, or a
    fixed small size.

    Args:
        obj: a value to be cached (rows of int/float/str/bytes/None, tuples, dicts, dataclasses).

    Returns:
        The estimate in bytes (never below 16).

    >>> approx_bytes("a" * 1000) >= 1000
    True
    >>> approx_bytes(((1, "x"),) * 10) > approx_bytes(((1, "x"),))
    True
    """
    if isinstance(obj, tuple) and obj and isinstance(obj[0], tuple):
        rows = _rows_bytes(obj)
        if rows is not None:
            return rows
    total = 0
    stack = [obj]
    walked = 0
    while stack and walked < _MAX_WALK:
        o = stack.pop()
        walked += 1
        total += _size_of(o, stack)
    if stack:  # too many parts to walk: charge the rest like the average so far
        total += len(stack) * (total // max(1, walked))
    return max(_OBJ, total)


def _rows_bytes(rows: tuple) -> int | None:
    """Rows of a result: marshal's size (written in C) plus CPython's overhead for the outer tuple, each row and cell.

    None when marshal cannot write them (objects other than plain values).
    """
    try:
        payload = len(marshal.dumps(rows))
    except ValueError:
        return None
    return payload + _TUPLE + len(rows) * (_PTR + _TUPLE + (_PTR + _SCALAR) * len(rows[0]))


def _size_of(o: object, stack: list) -> int:
    """The bytes of ``o`` itself; its parts go onto ``stack``."""
    if o is None or isinstance(o, bool):
        return _PTR
    if isinstance(o, (int, float)):
        return _SCALAR
    if isinstance(o, str):
        return _STR + len(o) * (1 if o.isascii() else 4)
    if isinstance(o, (bytes, bytearray, memoryview)):
        return 33 + len(o)
    if isinstance(o, (tuple, list, set, frozenset)):
        stack.extend(o)
        return _TUPLE + _PTR * len(o)
    if isinstance(o, dict):
        stack.extend(o.keys())
        stack.extend(o.values())
        return _TUPLE + _DICT_ENTRY * len(o)
    return _object_size(o, stack)


def _object_size(o: object, stack: list) -> int:
    d = getattr(o, "__dict__", None)
    if isinstance(d, dict):
        stack.extend(d.values())
        return _OBJ + _DICT_ENTRY * len(d)
    slots = getattr(type(o), "__slots__", ())
    if isinstance(slots, (tuple, list)):
        stack.extend(getattr(o, s, None) for s in slots if isinstance(s, str))
        return _OBJ + _PTR * len(slots)
    return _SCALAR


class _Flight:
    """A computation in progress: its lock is held until the value is ready."""

    __slots__ = ("lock", "value", "error")

    def __init__(self) -> None:
        self.lock = threading.Lock()  # a forked child forgets every flight (_forget_flights_in_child)
        self.lock.acquire()
        self.value: object = None
        self.error: BaseException | None = None


class ResultCache(Generic[V]):
    """An LRU bounded by ``max_entries`` and by ``max_bytes`` (the sum of the costs put in).

    Args:
        max_entries: most entries kept; 0 disables the cache.
        max_bytes: most bytes kept (costs are in bytes).
        max_entry_bytes: a value costing more is never kept (default: ``max_bytes``), so one
            large value cannot flush the whole cache.

    >>> c = ResultCache(max_entries=10, max_bytes=100)
    >>> c.put("k", "v", cost=60); c.put("k2", "v", cost=60)
    >>> c.get("k"), c.get("k2"), c.stats()["bytes"]
    (None, 'v', 60)
    """

    def __init__(
        self, max_entries: int, max_bytes: int = 256 * 1024 * 1024, *, max_entry_bytes: int | None = None
    ) -> None:
        self.max_entries = max(0, int(max_entries))
        self.max_bytes = max(0, int(max_bytes))
        self.max_entry_bytes = self.max_bytes if max_entry_bytes is None else min(self.max_bytes, int(max_entry_bytes))
        self._data: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._inflight: dict[Hashable, _Flight] = {}
        self._bytes = 0
        self._lock = ForkSafeLock()  # a child forked while another thread holds it gets it unlocked
        _caches.add(self)
        self.hits = 0
        self.misses = 0
        self.joined = 0  # requests that waited on an identical in-flight one

    def __len__(self) -> int:
        return len(self._data)

    @property
    def bytes(self) -> int:
        """The sum of the costs of the entries held."""
        return self._bytes

    def stats(self) -> dict[str, int]:
        """``entries``, ``bytes``, ``hits``, ``misses`` and ``joined`` (waits on an identical computation).

        Returns:
            A new dict of counters.
        """
        with self._lock:
            return {
                "entries": len(self._data),
                "bytes": self._bytes,
                "hits": self.hits,
                "misses": self.misses,
                "joined": self.joined,
            }

    def get(self, key: Hashable) -> V | None:
        """The value kept for ``key`` (now the most recently used), or None."""
        if key not in self._data:  # a miss needs no lock (one dict lookup is atomic); a hit is re-read under it
            return None
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            self._data.move_to_end(key)
            return entry[0]

    def lookup(self, key: Hashable, usable: Callable[[V], bool] | None = None) -> V | None:
        """The value kept for ``key`` if ``usable`` accepts it (counted as a hit), else None.

        Args:
            key: the key.
            usable: whether a kept value answers this request (default: any does).

        Returns:
            The value, or None.

        >>> c = ResultCache(10, 100); c.put("k", 5)
        >>> c.lookup("k", lambda v: v > 9), c.lookup("k"), c.stats()["hits"]
        (None, 5, 1)
        """
        with self._lock:
            entry = self._data.get(key)
            if entry is None or (usable is not None and not usable(entry[0])):
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: Hashable, value: V, cost: int = 1) -> None:
        """Store ``value`` costing ``cost`` bytes, evicting least recently used entries past either bound."""
        with self._lock:
            self._put_locked(key, value, cost)

    def _put_locked(self, key: Hashable, value: V, cost: int) -> None:
        cost = int(cost) if cost > 0 else 0
        data = self._data
        old = data.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        if cost > self.max_entry_bytes or self.max_entries == 0:
            return
        data[key] = (value, cost)
        self._bytes += cost
        if len(data) > self.max_entries or self._bytes > self.max_bytes:
            while data and (len(data) > self.max_entries or self._bytes > self.max_bytes):
                _, (_, c) = data.popitem(last=False)
                self._bytes -= c

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
        """Drop every entry (counters are kept)."""
        with self._lock:
            self._data.clear()
            self._bytes = 0


_caches: weakref.WeakSet[ResultCache] = weakref.WeakSet()


def _forget_flights_in_child() -> None:
    """In a forked child: the threads computing in-flight values are gone, so nobody may wait on them."""
    for cache in list(_caches):
        cache._inflight = {}


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_flights_in_child)
