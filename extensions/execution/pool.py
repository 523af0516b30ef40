"""A pool of sandbox worker processes with hard deadlines.

Each worker is a separate Python process (``extensions.execution.worker``)
talking over two pipes. A caller thread borrows one idle worker (waiting at most
as long as the calls queued ahead of it may hold the workers: see :meth:`WorkerPool.wait_limit`),
sends one statement and waits for the
answer at most ``timeout_s + grace_s``. In the worker, SQLite's progress handler
stops the query at its VM-step budget (``timeout``), a watchdog thread stops it
at its CPU budget (``timeout_cpu``) and ends the process shortly after (a step
SQLite cannot interrupt), and the
progress handler stops it at ``timeout_s`` of wall clock as a backstop
(``timeout_wall``). If the worker is stuck in C code, stopped, or blew its
memory limit, the parent kills it (SIGKILL) and a fresh worker replaces it.

A wall-clock outcome is tried once more before it is reported, unless the
attempt spent the statement's CPU budget: the CPU the worker used during the
attempt (``/proc``) tells a stalled worker (stopped, swapped out: little CPU)
from a statement that was working (``timeout_cpu``, never retried). After a
timeout no thread or process keeps burning CPU for that query.

Thread-safe: any number of threads may call :meth:`WorkerPool.execute`.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import queue
import select
import subprocess
import sys
import time
import weakref

from extensions._util.forksafe import ForkSafeLock
from extensions._util.log import log_once
from extensions._util.nesting import json_loads_bounded
from extensions.errors import EngineClosedError
from extensions.execution.budget import WHOLE, Budget, Cap
from extensions.execution.sandbox import Limits
from extensions.execution.status import ExecResult, Status
from extensions.execution.wire import WireError, decode_reply, encode_request, read_frame, write_frame
from extensions.execution.worker import CPU_EXIT, CPU_GRACE_S

log = logging.getLogger(__name__)
_MAX_WORKERS_PER_CORE = 4  # past this a pool is warned about: the workers are processes that mostly wait

_DEFAULT_LIMITS = Limits()

_PKG_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # holds extensions/
# The worker imports the package this process imported, never an ``extensions`` folder in its
# working directory (``python -m`` would put the working directory first on sys.path).
_WORKER_MAIN = f"import sys; sys.path[0] = {_PKG_PARENT!r}; from extensions.execution.worker import main; main()"


class _WorkerTimeout(Exception):
    pass


class _NoWorker(Exception):
    """No worker became free before the statement's deadline."""


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used, from ``/proc``; None where it cannot be read.

    Args:
        pid: a process id.

    Returns:
        The seconds, in clock ticks (10 ms on Linux).

    >>> process_cpu_s(os.getpid()) is not None
    True
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rpartition(b")")[2].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK
    except (OSError, ValueError, IndexError):
        return None


_SLOT = object()  # a token in the idle queue: permission to start one worker


class _Worker:
    """One worker process and its two pipes (parent side)."""

    def __init__(self, args: list[str]) -> None:
        r_req, w_req = os.pipe()
        r_res, w_res = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = _PKG_PARENT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _WORKER_MAIN, "--fd-in", str(r_req), "--fd-out", str(w_res), *args],
                pass_fds=(r_req, w_res),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # Ctrl-C in the trainer does not hit workers
                close_fds=True,
            )
        except BaseException:
            for fd in (r_req, w_req, r_res, w_res):
                os.close(fd)
            raise
        os.close(r_req)
        os.close(w_res)
        self.wfd, self.rfd = w_req, r_res
        # poll(), not select(): trainer processes (Ray actors) can hold more than 1024 descriptors.
        self._poll = select.poll()
        self._poll.register(self.rfd, select.POLLIN | select.POLLHUP | select.POLLERR)
        self.dead = False
        self.cpu_mark = 0.0  # the process's CPU seconds when it sent its last answer (0 before any)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def call(self, msg: bytes, wait_s: float, max_bytes: int) -> bytes:
        """Send the request ``msg`` and wait for the answer's frame body.

        Raises BrokenPipeError when the worker was already dead.
        """
        write_frame(self.wfd, msg)
        if not self._poll.poll(max(0, int(wait_s * 1000))):
            raise _WorkerTimeout()
        return read_frame(self.rfd, max_bytes)

    def cpu_since_mark(self) -> float | None:
        """CPU seconds the process used since its last answer (None: cannot be read here)."""
        now = process_cpu_s(self.proc.pid)
        return None if now is None else max(0.0, now - self.cpu_mark)

    def exit_status(self) -> int | None:
        """The exit status of a process whose pipe closed (None if it is still running after a short wait)."""
        try:
            return self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.dead:
            return
        self.dead = True
        try:
            self.proc.kill()
        except OSError:  # already gone
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - kernel trouble
            log.error("worker %s did not exit after SIGKILL", self.proc.pid)
        for fd in (self.wfd, self.rfd):
            try:
                os.close(fd)
            except OSError:
                pass


def _stats_reply(body: bytes) -> dict[str, int]:
    """A worker's stats reply, checked: a dict of int counters."""
    d = json_loads_bounded(body, max_depth=2)
    if not isinstance(d, dict) or not all(isinstance(v, int) for v in d.values()):
        raise ValueError("malformed stats reply")
    return d


class WorkerPool:
    """Lazily started pool of ``workers`` sandbox processes.

    Args:
        workers: number of processes; ``None`` or 0 means ``os.cpu_count()``.
        limits: row/value/SQL caps applied inside each worker.
        max_open_connections: LRU size of read-only connections per worker.
        memory_mb: ``RLIMIT_AS`` per worker (0 disables it).
        max_result_bytes: largest encoded result a worker sends; past it the worker answers ``too_large``.
        grace_s: extra wait beyond a statement's timeout before the worker is killed.
        immutable: open files with ``immutable=1`` (no lock or WAL files are ever created).
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        limits: Limits = _DEFAULT_LIMITS,
        max_open_connections: int = 32,
        memory_mb: int = 2048,
        grace_s: float = 1.0,
        immutable: bool = True,
        max_result_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.size = int(workers) if workers else (os.cpu_count() or 1)
        if self.size < 1:
            raise ValueError("workers must be >= 1")
        cores = os.cpu_count() or 1
        if self.size > _MAX_WORKERS_PER_CORE * cores:
            log_once(
                log,
                f"pool:oversized:{self.size}",
                "execution.workers=%d on a machine with %d cores: a batch may start that many worker processes, "
                "and more than %d per core only adds memory; 0 sizes the pool from the cores",
                self.size,
                cores,
                _MAX_WORKERS_PER_CORE,
            )
        self.limits = limits
        self.grace_s = grace_s
        # A frame announcing more than this is a protocol error (the worker caps its results).
        self._max_frame = max_result_bytes + 65536
        self._args = [
            "--max-result-bytes",
            str(max_result_bytes),
            "--max-rows",
            str(limits.max_rows),
            "--max-value-bytes",
            str(limits.max_value_bytes),
            "--max-sql-bytes",
            str(limits.max_sql_bytes),
            "--max-open",
            str(max_open_connections),
            "--memory-mb",
            str(memory_mb),
        ] + ([] if immutable else ["--no-immutable"])
        # The queue holds idle workers and _SLOT tokens (a permission to start
        # one more worker): ``size`` tokens at first, so workers start lazily,
        # and a token goes back whenever a worker dies. ``None`` means closed.
        self._idle: queue.SimpleQueue[_Worker | object | None] = queue.SimpleQueue()
        for _ in range(self.size):
            self._idle.put(_SLOT)
        self._all: set[_Worker] = set()
        self._closed = False
        self._queue_lock = ForkSafeLock()
        self._waiting = 0  # calls waiting for a worker now
        self._longest_s = 0.0  # the longest hold (timeout_s + grace_s) a call has asked for
        self.restarts = 0  # workers replaced (killed, died, malformed)
        self.retries = 0  # statements tried a second time (a stall or a death, never a verdict)
        self.received_bytes = 0  # result frames read from workers
        self._finalizer = weakref.finalize(self, WorkerPool._kill_all, self._all)
        atexit.register(self._finalizer)

    # -- lifecycle -------------------------------------------------------------------
    @staticmethod
    def _kill_all(workers: set[_Worker]) -> None:
        for w in list(workers):
            w.kill()
        workers.clear()

    def abandon(self) -> None:
        """In a forked child: drop the parent's workers without killing them.

        The child's copies of their pipe ends are closed (so a worker still sees
        end-of-file when the parent closes its side) and nothing is killed at
        the child's exit. The pool is closed for the child.
        """
        self._closed = True
        self._finalizer.detach()
        for w in list(self._all):
            w.dead = True
            for fd in (w.wfd, w.rfd):
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._all = set()

    def close(self) -> None:
        """Kill every worker. Idempotent; busy workers are killed too."""
        self._closed = True
        self._idle.put(None)
        self._finalizer()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- borrowing ---------------------------------------------------------------------
    def _acquire(self, wait_s: float) -> _Worker:
        """An idle worker, or a new one; :class:`_NoWorker` when none is free within ``wait_s`` seconds."""
        deadline = time.monotonic() + max(0.0, wait_s)
        while True:
            try:  # blocks (without holding the GIL) until a worker or a slot is free
                item = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise _NoWorker() from None
            if item is None or self._closed:
                self._idle.put(None)  # wake the next waiter too
                if isinstance(item, _Worker):
                    item.kill()
                raise EngineClosedError("worker pool is closed")
            if isinstance(item, _Worker):
                if not item.dead:
                    return item
                self._all.discard(item)
                self._idle.put(_SLOT)
                continue
            try:
                w = _Worker(self._args)
            except BaseException:
                self._idle.put(_SLOT)
                raise
            self._all.add(w)
            if self._closed:
                w.kill()
                continue
            return w

    def _release(self, w: _Worker, alive: bool) -> None:
        if alive and not self._closed and not w.dead:
            self._idle.put(w)
            return
        self._all.discard(w)
        w.kill()
        self._idle.put(_SLOT)

    # -- work ------------------------------------------------------------------------
    def execute(
        self,
        path: str,
        sql: str,
        budget: Budget,
        sig: tuple[int, ...] | None = None,
        cap: Cap = WHOLE,
    ) -> ExecResult:
        """Run one statement on some worker. Never raises except after :meth:`close`.

        A stall is not a verdict: a worker that passed ``timeout_s`` or did not answer by
        ``timeout_s + grace_s`` without having used the statement's CPU budget (load, swapping, a
        stopped process), or that died during the query (killed from outside), is replaced and the
        statement is tried once more. A second wall-clock outcome comes back as ``timeout_wall``.
        A statement that used its CPU budget is ``timeout_cpu`` at once, never tried again. No
        worker free within :meth:`wait_limit`: ``timeout_wall`` (``no sandbox worker free ...``).

        Args:
            path: the database file.
            sql: one statement.
            budget: its VM steps, CPU seconds and wall-clock backstop.
            sig: the file's signature (``db_signature``) if the caller already has it.
            cap: how much of the result comes back.

        Returns:
            The :class:`ExecResult`.
        """
        msg = encode_request(b"E", path, sql, sig, budget, cap)
        result, retry = self._call(msg, budget)
        if retry and not self._closed:
            self.retries += 1
            second, _ = self._call(msg, budget)
            result = second or result
            if result is not None and result.status is Status.TIMEOUT_WALL:
                result = dataclasses.replace(result, detail=f"{result.detail} (twice)")
        if result is None:  # died while idle, twice: nothing reached a worker
            detail = "worker process died before the query"
            return ExecResult(Status.INTERNAL_ERROR, detail=detail, timeout_s=budget.timeout_s)
        return result

    def _cpu_outcome(self, budget: Budget, cpu_s: float) -> ExecResult:
        """The statement passed its CPU budget (the worker was stopped or ended for it): ``timeout_cpu``."""
        return ExecResult(
            Status.TIMEOUT_CPU,
            detail=budget.cpu_detail(),
            timeout_s=budget.timeout_s,
            max_vm_steps=budget.max_vm_steps,
            cpu_s=cpu_s,
            max_cpu_s=budget.max_cpu_s,
        )

    def _unanswered(self, w: _Worker, budget: Budget) -> tuple[ExecResult, bool]:
        """No answer by the wall deadline: a CPU verdict if the attempt used the CPU budget, else a stall."""
        used = w.cpu_since_mark() if budget.max_cpu_s > 0 else None
        if used is not None and used >= budget.max_cpu_s:
            return self._cpu_outcome(budget, used), False
        detail = f"worker killed after {budget.timeout_s + self.grace_s:.2f} s"  # no measured figure: details repeat
        return ExecResult(Status.TIMEOUT_WALL, detail=detail, timeout_s=budget.timeout_s, cpu_s=used or 0.0), True

    def _died(self, w: _Worker, budget: Budget, exc: BaseException) -> tuple[ExecResult, bool]:
        """The worker's pipe closed mid-query: it ended itself for CPU (a verdict), or died (tried again)."""
        if self._closed:
            raise EngineClosedError("worker pool closed during the call") from exc
        if w.exit_status() == CPU_EXIT:
            return self._cpu_outcome(budget, budget.max_cpu_s + min(budget.max_cpu_s, CPU_GRACE_S)), False
        log.warning("sandbox worker %s died during a query (%s); replacing it", w.pid, exc)
        detail = "worker process died (killed or out of memory)"
        return ExecResult(Status.INTERNAL_ERROR, detail=detail, timeout_s=budget.timeout_s), True

    def wait_limit(self, timeout_s: float, ahead: int) -> float:
        """How long a call waits for a worker: the time the ``ahead`` calls queued before it may hold them.

        Each call holds a worker at most twice (a stall is tried once more, and the second try may take
        the worker back first), each time for at most its ``timeout_s + grace_s``; with ``size`` workers,
        a call with ``ahead`` calls before it gets one within ``2 × (1 + ahead // size)`` such holds,
        measured with the longest hold any call has asked for. Past that, something is stuck, and the
        call ends in ``timeout_wall`` (no verdict) instead of waiting on.

        Args:
            timeout_s: the calling statement's wall-clock backstop.
            ahead: calls already waiting when this one started.

        Returns:
            The seconds to wait.

        >>> WorkerPool(2, grace_s=1.0).wait_limit(2.0, ahead=3)
        12.0
        """
        longest = max(self._longest_s, timeout_s + self.grace_s)
        return 2 * (1 + ahead // self.size) * longest

    def _acquire_queued(self, timeout_s: float) -> _Worker:
        """:meth:`_acquire` with the queue-aware :meth:`wait_limit`; :class:`_NoWorker` past it."""
        with self._queue_lock:
            ahead = self._waiting
            self._waiting += 1
            self._longest_s = max(self._longest_s, timeout_s + self.grace_s)
        wait_s = self.wait_limit(timeout_s, ahead)
        try:
            return self._acquire(wait_s)
        except _NoWorker:
            raise _NoWorker(f"no sandbox worker free within {wait_s:g} s") from None
        finally:
            with self._queue_lock:
                self._waiting -= 1

    def _call(self, msg: bytes, budget: Budget) -> tuple[ExecResult | None, bool]:
        """One try on one worker: its result (None: the worker was dead before the query) and
        whether the outcome is no verdict and worth one more try."""
        timeout_s = budget.timeout_s
        try:
            w = self._acquire_queued(timeout_s)
        except _NoWorker as exc:
            return ExecResult(Status.TIMEOUT_WALL, detail=str(exc), timeout_s=timeout_s), False
        alive = False
        try:
            body = w.call(msg, timeout_s + self.grace_s, self._max_frame)
            self.received_bytes += len(body)
            result, w.cpu_mark = decode_reply(body)
            alive = True
            return result, result.status is Status.TIMEOUT_WALL
        except WireError as exc:  # a worker that does not follow the format is replaced
            self.restarts += 1
            log_once(log, f"wire:{exc}", "sandbox worker %s sent a malformed frame (%s); replacing it", w.pid, exc)
            malformed = ExecResult(Status.INTERNAL_ERROR, detail=f"malformed worker reply: {exc}", timeout_s=timeout_s)
            return malformed, False
        except BrokenPipeError:
            self.restarts += 1
            return None, True
        except _WorkerTimeout:
            self.restarts += 1
            return self._unanswered(w, budget)
        except (EOFError, OSError) as exc:
            self.restarts += 1
            return self._died(w, budget, exc)
        except MemoryError:
            big = ExecResult(Status.TOO_LARGE, detail="result too large for the parent process", timeout_s=timeout_s)
            return big, False
        finally:
            self._release(w, alive)

    def worker_stats(self) -> list[dict]:
        """RSS and open connection count of each started, idle worker."""
        taken: list[object] = []
        while True:
            try:
                taken.append(self._idle.get_nowait())
            except queue.Empty:
                break
        stats = []
        try:
            for w in taken:
                if isinstance(w, _Worker) and not w.dead:
                    try:
                        stats.append(_stats_reply(w.call(encode_request(b"S"), 5.0, self._max_frame)))
                    except (_WorkerTimeout, EOFError, OSError, ValueError):  # pragma: no cover
                        w.kill()
        finally:
            for w in taken:
                if isinstance(w, _Worker):
                    self._release(w, not w.dead)
                else:
                    self._idle.put(w)
        return stats

    def pids(self) -> list[int]:
        """Process ids of the workers started and alive now."""
        return [w.pid for w in list(self._all) if not w.dead]
