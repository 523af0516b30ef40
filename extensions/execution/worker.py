"""Worker process: executes statements in the sandbox, one at a time.

Started by :class:`extensions.execution.pool.WorkerPool` as
``python -m extensions.execution.worker --fd-in R --fd-out W ...``. It keeps an
LRU of read-only connections (one per database file, reopened when the file
changes) and answers length-prefixed pickled messages. The parent kills and
replaces a worker that does not answer in time, so a query stuck in C or a
memory blow-up never outlives its deadline. ``RLIMIT_AS`` caps the worker's
memory so that a memory bomb ends as ``too_large`` instead of swapping.

Imports only the standard library and the sandbox.
"""

from __future__ import annotations

import argparse
import os
import pickle
import struct
import sys
from collections import OrderedDict

from extensions.execution.sandbox import Limits, SandboxConnection, db_signature, open_sandbox
from extensions.execution.status import ExecResult, Status

_HEADER = struct.Struct("!Q")


def read_exact(fd: int, n: int) -> bytes:
    """Read exactly ``n`` bytes or raise EOFError."""
    chunks = []
    while n:
        b = os.read(fd, min(n, 1 << 20))
        if not b:
            raise EOFError("pipe closed")
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def read_message(fd: int) -> object:
    """Read one length-prefixed pickle. Messages are strictly request/response,
    so a single ``read`` usually returns the whole (small) message."""
    first = os.read(fd, 65536)
    if not first:
        raise EOFError("pipe closed")
    if len(first) < _HEADER.size:
        first += read_exact(fd, _HEADER.size - len(first))
    (size,) = _HEADER.unpack_from(first)
    body = first[_HEADER.size :]
    if len(body) < size:
        body += read_exact(fd, size - len(body))
    return pickle.loads(body)


def write_message(fd: int, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def to_wire(r: ExecResult) -> tuple:
    """Plain tuple for the pipe (pickling a dataclass costs several times more)."""
    return (r.status.value, r.rows, r.columns, r.elapsed_s, r.detail, r.timeout_s)


_STATUS = {s.value: s for s in Status}


def from_wire(t: tuple) -> ExecResult:
    return ExecResult(_STATUS[t[0]], t[1], t[2], t[3], t[4], t[5])


class ConnectionCache:
    """Bounded LRU of sandbox connections keyed by path and file signature."""

    def __init__(self, limits: Limits, max_open: int, immutable: bool) -> None:
        self.limits = limits
        self.max_open = max(1, max_open)
        self.immutable = immutable
        self._conns: OrderedDict[str, tuple[tuple[int, int], SandboxConnection]] = OrderedDict()

    def get(self, path: str, sig: tuple[int, int] | None = None) -> SandboxConnection | ExecResult:
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


def serve(fd_in: int, fd_out: int, limits: Limits, max_open: int, immutable: bool) -> None:
    cache = ConnectionCache(limits, max_open, immutable)
    while True:
        try:
            msg = read_message(fd_in)
        except EOFError:
            return
        kind = msg[0]
        if kind == "exec":
            _, path, sql, timeout_s, sig = msg
            try:
                conn = cache.get(path, sig)
                if isinstance(conn, ExecResult):
                    result = conn
                else:
                    result = conn.run(sql, timeout_s)
                    if result.status is Status.DB_CORRUPT:
                        cache.drop(path)
            except MemoryError:
                result = ExecResult(Status.TOO_LARGE, detail="out of memory", timeout_s=timeout_s)
            except Exception as exc:  # a bug: report it, keep serving
                result = ExecResult(Status.INTERNAL_ERROR, detail=f"{type(exc).__name__}: {exc}"[:300])
            try:
                write_message(fd_out, to_wire(result))
            except MemoryError:
                write_message(fd_out, to_wire(ExecResult(Status.TOO_LARGE, detail="result too large to send")))
        elif kind == "stats":
            write_message(fd_out, {"pid": os.getpid(), "rss_bytes": _rss_bytes(), "open_connections": len(cache)})
        elif kind == "close":
            return
        else:
            write_message(fd_out, to_wire(ExecResult(Status.INTERNAL_ERROR, detail=f"unknown message {kind!r}")))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--fd-in", type=int, required=True)
    p.add_argument("--fd-out", type=int, required=True)
    p.add_argument("--max-rows", type=int, default=Limits.max_rows)
    p.add_argument("--max-value-bytes", type=int, default=Limits.max_value_bytes)
    p.add_argument("--max-sql-bytes", type=int, default=Limits.max_sql_bytes)
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
    serve(a.fd_in, a.fd_out, limits, a.max_open, not a.no_immutable)


if __name__ == "__main__":
    main()
