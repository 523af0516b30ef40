"""Worker process: executes statements in the sandbox, one at a time.

Started by :class:`extensions.execution.pool.WorkerPool`, which runs :func:`main`
(``--fd-in R --fd-out W ...``) from the package it imported itself. It keeps an
LRU of read-only connections (one per database file, reopened when the file
changes) and answers length-prefixed frames (``extensions.execution.wire``:
requests and results in tagged binary formats that cannot run code in the
trainer). A result larger than ``--max-result-bytes`` is answered with
``too_large`` instead of being sent, and a capped request
(``extensions.execution.budget.Cap``) gets only the rows and cell lengths it asked for.

A :class:`CpuWatchdog` thread reads the CPU clock of the thread that runs the
statement: past the statement's ``max_cpu_s`` it stops the statement
(``timeout_cpu``), and past ``max_cpu_s + min(max_cpu_s, CPU_GRACE_S)`` (a single VM
step that SQLite cannot interrupt, such as a huge ``printf`` padding) it ends the
process with :data:`CPU_EXIT`, which the parent reads as ``timeout_cpu`` too. The parent kills and
replaces a worker that does not answer in time, so a query stuck in C or a
memory blow-up never outlives its deadline. ``RLIMIT_AS`` caps the worker's
memory so that a memory bomb ends as ``too_large`` instead of swapping.

Imports only the standard library and the sandbox.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import OrderedDict

from extensions.execution.sandbox import Limits, SandboxConnection, Signature, db_signature, open_sandbox
from extensions.execution.status import ExecResult, Status
from extensions.execution.wire import (
    Request,
    ResultTooLarge,
    WireError,
    decode_request,
    encode_json,
    encode_result,
    read_frame,
    write_frame,
)

# The exit status of a worker that ended itself for a statement past its CPU budget and grace.
CPU_EXIT = 88
# How far past its CPU budget a statement stuck in one step may run before its worker ends itself:
# the budget again, at most this many seconds.
CPU_GRACE_S = 0.5

# Requests come from the trainer (trusted) and are small.
_MAX_REQUEST_BYTES = 64 * 1024 * 1024
# Room for a result without rows (status and detail), whatever the cap.
_SMALL = 65536


def to_wire(r: ExecResult, max_bytes: int) -> bytes:
    """``r`` encoded for the pipe; a result past ``max_bytes`` is replaced by a ``too_large`` one."""
    cpu = time.process_time()
    try:
        return encode_result(r, max_bytes, cpu)
    except ResultTooLarge as exc:
        big = ExecResult(
            Status.TOO_LARGE,
            detail=str(exc),
            elapsed_s=r.elapsed_s,
            timeout_s=r.timeout_s,
            vm_steps=r.vm_steps,
            max_vm_steps=r.max_vm_steps,
            cpu_s=r.cpu_s,
            max_cpu_s=r.max_cpu_s,
        )
        return encode_result(big, _SMALL, cpu)
    except WireError as exc:
        return encode_result(ExecResult(Status.INTERNAL_ERROR, detail=f"cannot encode result: {exc}"), _SMALL, cpu)


class CpuWatchdog:
    """Stops the statement of the thread that created it once that thread's CPU time passes a budget.

    ``arm(conn, budget_s)`` before a statement, ``disarm()`` after it. One daemon thread sleeps until
    the earliest moment the budget could be spent (a thread's CPU time never grows faster than the
    wall clock), reads the thread's CPU clock, and calls ``conn.stop("cpu")`` past the budget. Past
    the budget and its grace (the budget again, at most :data:`CPU_GRACE_S`), the statement is stuck
    in one step SQLite cannot interrupt, and the process ends with :data:`CPU_EXIT`. Linux and other
    systems with ``time.pthread_getcpuclockid``; elsewhere ``available`` is False and nothing is watched.

    >>> CpuWatchdog().available
    True
    """

    def __init__(self) -> None:
        getter = getattr(time, "pthread_getcpuclockid", None)
        self._clock = getter(threading.get_ident()) if getter is not None else None
        self._cond = threading.Condition()
        self._job: tuple[SandboxConnection, float, float] | None = None  # conn, CPU to stop at, CPU to exit at
        self._wakes_at = float("inf")  # when (time.monotonic()) the thread looks at the job next
        self._thread: threading.Thread | None = None

    @property
    def available(self) -> bool:
        """The thread's CPU clock can be read on this system."""
        return self._clock is not None

    def arm(self, conn: SandboxConnection, budget_s: float) -> None:
        """Watch the next statement of ``conn`` against ``budget_s`` CPU seconds (0: nothing to watch)."""
        if self._clock is None or budget_s <= 0:
            return
        now = time.clock_gettime(self._clock)
        with self._cond:
            self._job = (conn, now + budget_s, now + budget_s + min(budget_s, CPU_GRACE_S))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="cpu-watchdog", daemon=True)
                self._thread.start()
            elif self._wakes_at > time.monotonic() + budget_s:  # it would look too late (or never)
                self._cond.notify()

    def disarm(self) -> None:
        """The statement has ended."""
        with self._cond:
            self._job = None

    def _loop(self) -> None:
        assert self._clock is not None
        with self._cond:
            while True:
                job = self._job
                if job is None:
                    self._wakes_at = float("inf")
                    self._cond.wait()
                    continue
                conn, stop_at, exit_at = job
                used = time.clock_gettime(self._clock)
                if used >= exit_at:
                    os._exit(CPU_EXIT)
                if used >= stop_at:
                    conn.stop("cpu")
                    self._job = (conn, float("inf"), exit_at)
                    stop_at = float("inf")
                wait = max(0.001, min(stop_at, exit_at) - used)
                self._wakes_at = time.monotonic() + wait
                self._cond.wait(wait)


class ConnectionCache:
    """Bounded LRU of sandbox connections keyed by path and file signature."""

    def __init__(self, limits: Limits, max_open: int, immutable: bool) -> None:
        self.limits = limits
        self.max_open = max(1, max_open)
        self.immutable = immutable
        self._conns: OrderedDict[str, tuple[Signature, SandboxConnection]] = OrderedDict()

    def get(self, path: str, sig: Signature | None = None) -> SandboxConnection | ExecResult:
        """The connection for ``path``; ``sig`` (from the parent's stat) saves a stat here."""
        if sig is None:
            sig = db_signature(path)
        if sig is None:
            self.drop(path)
            return ExecResult(Status.DB_MISSING, detail=f"no database file at {path!r}")
        entry = self._conns.get(path)
        if entry is not None:
            if entry[0] == sig:
                self._conns.move_to_end(path)
                return entry[1]
            self.drop(path)
        opened = open_sandbox(path, self.limits, immutable=self.immutable)
        if isinstance(opened, ExecResult):
            return opened
        self._conns[path] = (sig, opened)
        while len(self._conns) > self.max_open:
            _, (_, old) = self._conns.popitem(last=False)
            old.close()
        return opened

    def drop(self, path: str) -> None:
        entry = self._conns.pop(path, None)
        if entry is not None:
            entry[1].close()

    def __len__(self) -> int:
        return len(self._conns)


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # non-Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _execute(cache: ConnectionCache, req: Request, watchdog: CpuWatchdog) -> ExecResult:
    b = req.budget
    try:
        conn = cache.get(req.path, req.sig)
        if isinstance(conn, ExecResult):
            return conn
        watchdog.arm(conn, b.max_cpu_s)
        try:
            result = conn.run(req.sql, b.timeout_s, b.max_vm_steps, max_cpu_s=b.max_cpu_s, cap=req.cap)
        finally:
            watchdog.disarm()
        if result.status is Status.DB_CORRUPT:
            cache.drop(req.path)
        return result
    except MemoryError:
        return ExecResult(Status.TOO_LARGE, detail="out of memory", timeout_s=b.timeout_s)
    except Exception as exc:  # a bug: report it, keep serving
        return ExecResult(Status.INTERNAL_ERROR, detail=f"{type(exc).__name__}: {exc}"[:300])


def serve(fd_in: int, fd_out: int, limits: Limits, max_open: int, immutable: bool, max_result_bytes: int) -> None:
    """Answer requests until the pipe closes or a ``close`` request arrives."""
    cache = ConnectionCache(limits, max_open, immutable)
    watchdog = CpuWatchdog()
    while True:
        try:
            req = decode_request(read_frame(fd_in, _MAX_REQUEST_BYTES))
        except EOFError:
            return
        kind = req.kind
        if kind == b"E":
            result = _execute(cache, req, watchdog)
            try:
                body = to_wire(result, max_result_bytes)
            except MemoryError:
                body = to_wire(ExecResult(Status.TOO_LARGE, detail="result too large to send"), max_result_bytes)
            write_frame(fd_out, body)
        elif kind == b"S":
            write_frame(
                fd_out, encode_json({"pid": os.getpid(), "rss_bytes": _rss_bytes(), "open_connections": len(cache)})
            )
        elif kind == b"C":
            return
        else:
            write_frame(fd_out, to_wire(ExecResult(Status.INTERNAL_ERROR, detail=f"unknown message {kind!r}"), _SMALL))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--fd-in", type=int, required=True)
    p.add_argument("--fd-out", type=int, required=True)
    p.add_argument("--max-rows", type=int, default=Limits.max_rows)
    p.add_argument("--max-value-bytes", type=int, default=Limits.max_value_bytes)
    p.add_argument("--max-sql-bytes", type=int, default=Limits.max_sql_bytes)
    p.add_argument("--max-result-bytes", type=int, default=64 * 1024 * 1024)
    p.add_argument("--max-open", type=int, default=32)
    p.add_argument("--memory-mb", type=int, default=0, help="RLIMIT_AS in MiB (0 = unlimited)")
    p.add_argument("--no-immutable", action="store_true")
    a = p.parse_args(argv)
    if a.memory_mb > 0:
        try:
            import resource

            limit = a.memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ImportError, ValueError, OSError) as exc:  # pragma: no cover - platform dependent
            print(f"extensions worker: cannot set RLIMIT_AS: {exc}", file=sys.stderr)
    # Nothing may write to the protocol pipes but us; stdout is not used.
    limits = Limits(max_rows=a.max_rows, max_value_bytes=a.max_value_bytes, max_sql_bytes=a.max_sql_bytes)
    serve(a.fd_in, a.fd_out, limits, a.max_open, not a.no_immutable, a.max_result_bytes)


if __name__ == "__main__":
    main()
