"""Turn concurrent per-sample coroutine calls into batch calls.

verl 0.9's reward loop awaits an ``async`` reward function once per sample,
for all the samples of a batch at once (``asyncio.gather``). Scored one by
one in a thread pool, those samples fight over the GIL: Python's ``sqlite3``
releases it around every prepare and step, and each release hands it to
another thread. A :class:`Coalescer` instead collects the calls made during
one turn of the event loop and runs them as **one** batch call in a thread,
so the batch path (one thread, no hand-offs) scores them; each caller gets
its own result back. The event loop itself never blocks.

>>> import asyncio
>>> double = Coalescer(lambda xs: [2 * x for x in xs], lambda x, exc: -1, name="double")
>>> async def main():
...     return await asyncio.gather(*(double(i) for i in range(5)))
>>> asyncio.run(main())
[0, 2, 4, 6, 8]
>>> double.batches, double.items
(1, 5)
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from extensions._util.forksafe import ForkSafeLock
from extensions._util.log import log_once

log = logging.getLogger("extensions.coalesce")

_running_loop = asyncio.get_running_loop
T = TypeVar("T")
R = TypeVar("R")


def by_group(items: list[T], key: Callable[[T], Hashable], run_group: Callable[[list[T]], list[R]]) -> list[R]:
    """``run_group`` once per distinct ``key(item)`` (calls with different options), results in the items' order.

    >>> by_group([1, 2, 3, 4], lambda x: x % 2, lambda xs: [(x, len(xs)) for x in xs])
    [(1, 2), (2, 2), (3, 2), (4, 2)]
    """
    keys = [key(item) for item in items]
    if keys and keys.count(keys[0]) == len(keys):  # one group (the usual case): no dict of groups
        results = run_group(items)
        if len(results) != len(items):
            raise RuntimeError(f"{len(results)} results for a group of {len(items)}")
        return results
    groups: dict[Hashable, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    out: list[R | None] = [None] * len(items)
    for idx in groups.values():
        results = run_group([items[i] for i in idx])
        if len(results) != len(idx):
            raise RuntimeError(f"{len(results)} results for a group of {len(idx)}")
        for i, r in zip(idx, results):
            out[i] = r
    return out  # type: ignore[return-value]  # every slot is filled above


class _Pending(Generic[T, R]):
    """The calls collected on one event loop since its last flush."""

    __slots__ = ("items", "futures", "scheduled", "running")

    def __init__(self) -> None:
        self.items: list[T] = []
        self.futures: list[asyncio.Future[R]] = []
        self.scheduled = False
        self.running = False  # a batch from this loop is being scored


class Coalescer(Generic[T, R]):
    """``await coalescer(item)`` → ``run_batch([... item ...])[its index]``.

    ``run_batch`` gets every item submitted on the same event loop during
    one loop turn (at most ``max_batch`` at a time) and must return one
    result per item, in order; it runs in the loop's default executor. While
    one batch of a loop is being scored, that loop's new calls wait and go
    together in the next batch (calls that trickle in, as when verl decodes
    each response in a thread first, still form batches, and batches never
    compete for the GIL).
    Should it raise or return the wrong number of results, each caller gets
    ``fallback(item, exc)`` and the failure is logged once. Works with any
    number of event loops (each collects its own calls).
    """

    def __init__(
        self,
        run_batch: Callable[[list[T]], list[R]],
        fallback: Callable[[T, BaseException], R],
        *,
        name: str,
        max_batch: int = 4096,
    ) -> None:
        self.run_batch = run_batch
        self.fallback = fallback
        self.name = name
        self.max_batch = max(1, int(max_batch))
        self.batches = 0
        self.items = 0
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pending[T, R]] = weakref.WeakKeyDictionary()
        self._lock = ForkSafeLock()
        self._last: tuple[asyncio.AbstractEventLoop, _Pending[T, R]] | None = None  # the loop seen last

    def _pending(self, loop: asyncio.AbstractEventLoop) -> _Pending[T, R]:
        last = self._last  # one read: a pair written whole by another thread is still a consistent pair
        if last is not None and last[0] is loop:
            return last[1]
        with self._lock:
            p = self._loops.get(loop)
            if p is None:
                p = self._loops[loop] = _Pending()
            self._last = (loop, p)
            return p

    async def __call__(self, item: T) -> R:
        return await self.submit(item)

    def submit(self, item: T) -> asyncio.Future[R]:
        """Add ``item`` to the running event loop's next batch; the future of its result.

        What ``await coalescer(item)`` does, without a coroutine of its own: a caller that is a
        coroutine already (``return await coalescer.submit(item)``) saves one per call.

        Args:
            item: one call's arguments.

        Returns:
            A future of the event loop this is called from, done when the batch is scored.

        Raises:
            RuntimeError: no event loop is running in this thread.
        """
        loop = _running_loop()
        last = self._last  # one read: a pair written whole by another thread is still a consistent pair
        p = last[1] if last is not None and last[0] is loop else self._pending(loop)
        fut: asyncio.Future[R] = loop.create_future()
        p.items.append(item)
        p.futures.append(fut)
        if p.running:
            pass  # flushed when the running batch is delivered
        elif len(p.items) >= self.max_batch:
            self._flush(loop, p)
        elif not p.scheduled:
            # Runs after every task already ready in this turn has made its call.
            p.scheduled = True
            loop.call_soon(self._flush, loop, p)
        return fut

    def _flush(self, loop: asyncio.AbstractEventLoop, p: _Pending[T, R]) -> None:
        p.scheduled = False
        if not p.items or p.running:
            return
        items, futures = p.items[: self.max_batch], p.futures[: self.max_batch]
        del p.items[: self.max_batch], p.futures[: self.max_batch]
        self.batches += 1
        self.items += len(items)
        p.running = True
        try:
            done = loop.run_in_executor(None, self._run, items)
        except RuntimeError as exc:  # the loop's executor is shut down
            p.running = False
            for item, f in zip(items, futures):
                if not f.done():
                    f.set_result(self.fallback(item, exc))
            return

        def delivered(d: asyncio.Future[list[R]]) -> None:
            p.running = False
            self._deliver(d, futures)
            if p.items:
                self._flush(loop, p)

        done.add_done_callback(delivered)

    def _run(self, items: list[T]) -> list[R]:
        try:
            results = list(self.run_batch(items))
            if len(results) != len(items):
                raise RuntimeError(f"{self.name}: {len(results)} results for {len(items)} items")
            return results
        except Exception as exc:
            log_once(
                log,
                f"{self.name}:{type(exc).__name__}",
                "%s: batch call failed (%r); fallback results",
                self.name,
                exc,
                exc_info=True,
            )
            return [self.fallback(item, exc) for item in items]

    @staticmethod
    def _deliver(done: asyncio.Future[list[R]], futures: list[asyncio.Future[R]]) -> None:
        if done.cancelled():  # the loop is shutting down
            for f in futures:
                f.cancel()
            return
        exc = done.exception()
        results = done.result() if exc is None else None
        for i, f in enumerate(futures):
            if f.done():  # its caller was cancelled meanwhile
                continue
            if results is None:  # only if the fallback itself failed
                f.set_exception(exc)  # type: ignore[arg-type]
            else:
                f.set_result(results[i])
