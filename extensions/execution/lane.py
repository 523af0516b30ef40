"""The inline lane: a first attempt at a statement in the calling thread, under tight limits.

The same sandbox as the workers (read-only URI, ``query_only``, the
authorizer, one statement) with a short deadline, a small value cap, a small
row cap and a small page cache. What the lane settles (rows within its caps,
or a compile error: syntax, unknown name, forbidden statement) is the verdict
a worker gives, because both run the same code on the same SQLite library.
Anything else returns None and a worker process runs the statement with the
full timeout and limits.

The lane's own deadline is wall clock, and only decides where a statement runs,
never its verdict: a statement the lane stops at its deadline goes to a worker,
while one that passes its VM-step budget inline is a ``timeout`` exactly as in a
worker. The deadline does not depend on the cost of one VM step: a :class:`Watchdog`
thread calls ``Connection.interrupt()`` when a statement passes its budget,
and SQLite checks for an interrupt at every jump of its VM program, so a
statement holds the caller at most one loop iteration past its budget.

Files whose schema calls a function whose result can outgrow its arguments
(a view or generated column using ``printf``, say) are never run here: the
authorizer does not see calls made inside a view, and under the lane's
smaller value cap such a call could return NULL where a worker returns the
value.

>>> from extensions.data.demo import build_demo_databases
>>> import tempfile
>>> from extensions.execution.budget import Budget
>>> from extensions.execution.sandbox import Limits, db_signature
>>> hr = build_demo_databases(tempfile.mkdtemp())["hr"]
>>> lane = InlineLane(Limits(max_rows=100, max_value_bytes=4096), max_open=4, immutable=True)
>>> lane.run(hr, db_signature(hr), "SELECT count(*) FROM employees", 0.01, Budget(timeout_s=1.0)).rows
((60,),)
>>> lane.close()
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
import weakref
from collections import OrderedDict

from extensions._util.forksafe import ForkSafeLock
from extensions.execution.budget import WHOLE, Budget, Cap
from extensions.execution.sandbox import Limits, SandboxConnection, Signature, open_sandbox
from extensions.execution.status import ExecResult, Status

# Outcomes of an inline run that stand as the verdict: the VM-step budget (``timeout``) counts the
# same instructions in both places. Everything else (the inline wall deadline, the inline size caps,
# any runtime surprise) goes to a worker. The lane's deadline is never later than the statement's CPU
# budget (a thread's CPU time never grows faster than the wall clock), so a CPU verdict is always a
# worker's.
_INLINE_FINAL = frozenset({Status.OK, Status.SYNTAX_ERROR, Status.SCHEMA_ERROR, Status.FORBIDDEN, Status.TIMEOUT})


_watchdogs: weakref.WeakSet[Watchdog] = weakref.WeakSet()


def _forget_in_children() -> None:
    for w in list(_watchdogs):
        w._forget_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_children)


class Watchdog:
    """One daemon thread that interrupts connections whose statement passed its deadline.

    ``arm(conn, deadline)`` returns a ticket; ``disarm(ticket)`` before the
    connection runs anything else. The interrupt is sent under the same lock,
    so it never reaches a later statement.

    >>> import sqlite3
    >>> w = Watchdog()
    >>> conn = sqlite3.connect(":memory:", check_same_thread=False)
    >>> t = w.arm(conn, time.monotonic() + 0.01)
    >>> conn.execute("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r")
    Traceback (most recent call last):
    ...
    sqlite3.OperationalError: interrupted
    >>> w.disarm(t); w.interrupts
    1
    """

    def __init__(self) -> None:
        self._lock = ForkSafeLock()  # taken directly by arm and disarm (a Condition's own with is Python code)
        self._cond = threading.Condition(self._lock)  # type: ignore[arg-type]
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, object] = {}
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None
        self.interrupts = 0
        _watchdogs.add(self)

    def _forget_in_child(self) -> None:
        """In a forked child: no thread and nothing armed (the parent's statements do not run here)."""
        self._cond = threading.Condition(self._lock)  # type: ignore[arg-type]
        self._heap, self._armed, self._thread = [], {}, None

    def arm(self, conn: object, deadline: float) -> int:
        """Interrupt ``conn`` at ``deadline`` (``time.monotonic()``) unless disarmed first."""
        ticket = next(self._ids)
        with self._lock:
            self._armed[ticket] = conn
            heap = self._heap
            # The usual case: the thread is already waiting for an earlier deadline (a heap that is not
            # empty has a thread, in this process: a forked child starts empty, see _forget_in_child).
            wake = not heap or deadline < heap[0][0]
            heapq.heappush(heap, (deadline, ticket))
            if not wake:
                return ticket
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="inline-watchdog", daemon=True)
                self._thread.start()
            else:
                self._cond.notify()
        return ticket

    def disarm(self, ticket: int) -> None:
        """Cancel a ticket (its heap entry is dropped lazily)."""
        with self._lock:
            self._armed.pop(ticket, None)

    def _loop(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][1] not in self._armed:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait(60.0)
                    if not self._heap:
                        self._thread = None
                        return
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, ticket = heapq.heappop(self._heap)
                self._fire(self._armed.pop(ticket))

    def _fire(self, conn: object) -> None:
        try:
            conn.interrupt()  # type: ignore[attr-defined]
            self.interrupts += 1
        except Exception:  # a closed connection: nothing to stop
            pass


class _FileConns:
    """The lane's connections to one database file (``sig``: its signature)."""

    __slots__ = ("sig", "idle", "opened")

    def __init__(self, sig: Signature) -> None:
        self.sig = sig
        self.idle: list[SandboxConnection] = []
        self.opened = 0


class InlineLane:
    """Connections in the calling process for first attempts (see the module docstring).

    Args:
        limits: the lane's caps (smaller than the workers').
        max_open: most database files with open connections.
        immutable: open files with ``immutable=1``.
        per_path: most connections per file; a statement finding them all busy goes to a worker.
        cache_kib: page cache per connection.
        watchdog: interrupt statements at their deadline from a thread (else only SQLite's progress handler).
    """

    def __init__(
        self,
        limits: Limits,
        max_open: int,
        immutable: bool,
        *,
        per_path: int = 2,
        cache_kib: int = 512,
        watchdog: bool = True,
    ) -> None:
        self.limits = limits
        self.max_open = max(1, max_open)
        self.per_path = max(1, per_path)
        self.immutable = immutable
        self.cache_kib = cache_kib
        self.watchdog = Watchdog() if watchdog else None
        self._lock = ForkSafeLock()
        self._files: OrderedDict[str, _FileConns] = OrderedDict()
        self.settled = 0  # statements answered inline
        self.handed_over = 0  # inline attempts that went on to a worker
        self.busy = 0  # statements sent straight to a worker: every connection to the file was in use
        self.refused_files = 0  # opens refused: the schema calls a growing function, or the file cannot open

    # The common case takes and gives back without the lock: list.pop/append and
    # dict.get are atomic under the GIL. The lock guards opening and evicting.
    def _take(self, path: str, sig: Signature) -> tuple[SandboxConnection, _FileConns] | None | bool:
        """An idle or new connection and its file; False when ``per_path`` are all busy; None when it cannot open."""
        f = self._files.get(path)
        if f is not None and f.sig == sig:
            try:
                return f.idle.pop(), f
            except IndexError:
                if f.opened >= self.per_path:
                    return False
        f, full = self._reserve(path, sig)
        if full:
            return False
        opened = open_sandbox(
            path, self.limits, immutable=self.immutable, cache_kib=self.cache_kib, refuse_growing=True
        )
        if isinstance(opened, ExecResult):
            with self._lock:
                f.opened -= 1
                self.refused_files += 1
            return None
        return opened, f

    def _reserve(self, path: str, sig: Signature) -> tuple[_FileConns, bool]:
        """The file's entry (new when its signature changed) and whether its connections are all taken."""
        stale: list[SandboxConnection] = []
        with self._lock:
            f = self._files.get(path)
            if f is None or f.sig != sig:
                if f is not None:
                    stale += self._files.pop(path).idle
                f = self._files[path] = _FileConns(sig)
                while len(self._files) > self.max_open:
                    stale += self._files.popitem(last=False)[1].idle
            else:
                self._files.move_to_end(path)
            full = f.opened >= self.per_path
            if not full:
                f.opened += 1
        for c in stale:
            c.close()
        return f, full

    def _give_back(self, path: str, conn: SandboxConnection, f: _FileConns) -> None:
        if self._files.get(path) is f:
            f.idle.append(conn)
        else:  # the file changed or was evicted meanwhile
            conn.close()

    def _attempt(self, conn: SandboxConnection, sql: str, budget_s: float, budget: Budget, cap: Cap) -> ExecResult:
        steps, cpu, timeout = budget.max_vm_steps, budget.max_cpu_s, budget.timeout_s
        if self.watchdog is None:
            return conn.run(sql, budget_s, steps, max_cpu_s=cpu, cap=cap, reported_timeout_s=timeout)
        ticket = self.watchdog.arm(conn.conn, time.monotonic() + budget_s)
        try:
            return conn.run(sql, budget_s, steps, max_cpu_s=cpu, cap=cap, reported_timeout_s=timeout)
        finally:
            self.watchdog.disarm(ticket)

    def run(
        self, path: str, sig: Signature, sql: str, budget_s: float, budget: Budget, cap: Cap = WHOLE
    ) -> ExecResult | None:
        """The verdict if the inline attempt settles it, else None (a worker must run it).

        Args:
            path: the database file.
            sig: its signature (``db_signature(path)``).
            sql: one statement.
            budget_s: the lane's deadline for this attempt (shortened to the CPU budget).
            budget: the statement's budget (steps: a verdict here too; the wall backstop is reported).
            cap: how much of the result to keep.

        Returns:
            The result, or None when a worker must run the statement.
        """
        if budget.max_cpu_s > 0:
            budget_s = min(budget_s, budget.max_cpu_s)
        taken = self._take(path, sig)
        if not isinstance(taken, tuple):
            if taken is False:
                self.busy += 1
            else:
                self.handed_over += 1  # the worker reports db_missing/db_corrupt with its own check
            return None
        conn, f = taken
        try:
            r = self._attempt(conn, sql, budget_s, budget, cap)
            refused = conn.refused
        finally:
            self._give_back(path, conn, f)
        if refused or r.status not in _INLINE_FINAL:
            self.handed_over += 1
            return None
        self.settled += 1
        return r

    def open_connections(self) -> int:
        """Connections open now (idle or in use)."""
        with self._lock:
            return sum(f.opened for f in self._files.values())

    def stats(self) -> dict[str, int]:
        """Counters: ``settled``, ``handed_over``, ``busy``, ``refused_files``, ``interrupts``, ``open_connections``."""
        return {
            "settled": self.settled,
            "handed_over": self.handed_over,
            "busy": self.busy,
            "refused_files": self.refused_files,
            "interrupts": self.watchdog.interrupts if self.watchdog else 0,
            "open_connections": self.open_connections(),
        }

    def close(self) -> None:
        """Close every idle connection (busy ones close when given back)."""
        with self._lock:
            conns = [c for f in self._files.values() for c in f.idle]
            self._files.clear()
        for c in conns:
            c.close()
