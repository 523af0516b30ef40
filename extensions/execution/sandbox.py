"""Read-only SQLite sandbox: one connection, one statement, hard limits.

Layers of protection, each sufficient against writes on its own for the main
database and together covering the TEMP schema and the connection state:

1. the file is opened through a ``mode=ro`` URI (``immutable=1`` by default, so
   SQLite never creates ``-wal``/``-shm``/journal files next to it);
2. ``PRAGMA query_only=1`` and ``SQLITE_LIMIT_ATTACHED=0``;
3. an authorizer that allows only ``SELECT``, column reads, recursive CTEs and
   a whitelist of pure functions. Every write and DDL (TEMP included),
   ATTACH/DETACH, transactions, savepoints and PRAGMAs other than a few
   read-only introspection ones are denied;
4. exactly one statement is compiled (trailing whitespace, ``;`` and comments
   are allowed);
5. a work budget SQLite counts itself: the progress handler counts VM
   instructions and stops the statement past ``max_vm_steps`` (``timeout``, a
   verdict that does not depend on machine load); another thread may stop it for
   its CPU time (:meth:`SandboxConnection.stop`, ``timeout_cpu``); a wall-clock
   deadline checked by the progress handler is only a backstop (``timeout_wall``,
   never a verdict); limits on value length, SQL length and returned rows stop
   memory bombs early.

Virtual tables (FTS5, R*Tree, FTS3/4) are connected once when a file is opened,
before the authorizer is installed: their modules read their shadow tables while
connecting, which the authorizer would refuse. Statements then read them as any
table; a module this SQLite lacks gives ``forbidden``.

This module imports only the standard library: it is loaded by the worker
processes (``extensions.execution.worker``).
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from extensions.execution.budget import WHOLE, Cap
from extensions.execution.status import ExecResult, Status

# Authorizer action codes (sqlite3 module constants, spelled out for clarity).
_ALLOWED_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE}

# Deterministic, side-effect-free functions SQLite ships with. random(),
# randomblob(), changes(), last_insert_rowid(), load_extension() and friends
# are absent on purpose.
PURE_FUNCTIONS = frozenset(
    """
    abs char coalesce concat concat_ws format glob hex ifnull iif if instr length like
    likelihood likely lower ltrim max min nullif octet_length printf quote replace round
    rtrim sign soundex substr substring trim typeof unhex unicode unlikely upper zeroblob
    sqlite_version sqlite_source_id
    avg count group_concat string_agg sum total
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value
    last_value nth_value
    date time datetime julianday unixepoch strftime timediff current_date current_time
    current_timestamp
    acos acosh asin asinh atan atan2 atanh ceil ceiling cos cosh degrees exp floor ln log
    log10 log2 mod pi pow power radians sin sinh sqrt tan tanh trunc
    json json_array json_array_length json_extract json_insert json_object json_patch
    json_remove json_replace json_set json_type json_valid json_quote json_group_array
    json_group_object json_each json_tree json_error_position json_pretty
    jsonb jsonb_array jsonb_extract jsonb_insert jsonb_object jsonb_patch jsonb_remove
    jsonb_replace jsonb_set jsonb_group_array jsonb_group_object -> ->>
    match highlight snippet bm25 offsets matchinfo
    """.split()
)

# PRAGMAs that only describe the schema (and ``data_version``, which FTS5 reads). Everything else is denied.
READONLY_PRAGMAS = frozenset(
    "table_info table_xinfo index_list index_info index_xinfo foreign_key_list table_list data_version".split()
)
# A table-valued PRAGMA (``SELECT name FROM pragma_table_info('t')``) named in a statement.
_PRAGMA_TABLE = re.compile(r"(?i)pragma_(\w+)")


@dataclass(frozen=True)
class Limits:
    """Per-statement limits. Defaults suit Spider/BIRD-sized training databases."""

    max_rows: int = 100_000
    max_value_bytes: int = 16 * 1024 * 1024
    max_sql_bytes: int = 1_000_000
    progress_steps: int = 1_000  # the progress handler's period: VM steps are counted in multiples of it


def _allow_all(action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None) -> int:
    return sqlite3.SQLITE_OK


def _authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None) -> int:
    if action in _ALLOWED_ACTIONS:
        # Reading is fine; a SELECT that would read from the temp schema is
        # harmless because nothing can ever be created there.
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_OK if (arg2 or "").lower() in PURE_FUNCTIONS else sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA:
        return sqlite3.SQLITE_OK if (arg1 or "").lower() in READONLY_PRAGMAS else sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_DENY


# Functions whose result can outgrow their arguments. A connection with a
# smaller value cap (the engine's inline lane) hands statements that use them
# over to a worker: printf()/format() return NULL instead of an error when
# their result passes SQLITE_LIMIT_LENGTH, so a smaller cap could change a result.
GROWING_FUNCTIONS = frozenset(
    "char concat concat_ws format printf hex quote replace zeroblob group_concat string_agg unhex -> ->> "
    "highlight snippet".split()
)


def _grows(name: str) -> bool:
    return name in GROWING_FUNCTIONS or name.startswith("json")


# A call of a growing function (or a JSON operator) anywhere in schema SQL.
_GROWING_CALL = re.compile(
    r"(?i)(\b(?:" + "|".join(sorted(n for n in GROWING_FUNCTIONS if n.isidentifier())) + r"|json\w*)\s*\()|->"
)

Signature = tuple[int, ...]

_WAL_HINT = (
    "database is in WAL mode with changes in its -wal file, which a read-only immutable open would not see; "
    "checkpoint it first: sqlite3 FILE 'PRAGMA wal_checkpoint(TRUNCATE)'"
)


def _decode_text(b: bytes) -> str:
    # Same as the official Spider evaluator: invalid UTF-8 is dropped, not fatal.
    return b.decode(errors="ignore")


def db_signature(path: str) -> Signature | None:
    """What identifies a file's current content, or None when it is not a regular file.

    (mtime_ns, size, inode, ctime_ns, size of its ``-wal`` file): a file
    replaced in place with the same size and a preserved mtime still changes
    its ctime (and usually its inode).

    Args:
        path: the database file.

    Returns:
        The signature tuple, or None.

    >>> db_signature("/nonexistent") is None
    True
    """
    try:
        st = os.stat(path)
    except (OSError, ValueError, TypeError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    try:
        wal = os.stat(path + "-wal").st_size
    except OSError:
        wal = 0
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns, wal)


def _pending_wal(path: str) -> bool:
    """The file is in WAL mode (header bytes 18-19) and its ``-wal`` file holds data."""
    try:
        if os.path.getsize(path + "-wal") == 0:
            return False
        with open(path, "rb") as fh:
            header = fh.read(20)
    except OSError:
        return False
    return len(header) == 20 and header[18] == 2 and header[19] == 2


class _GrowingSchema(Exception):
    """A view, generated column or index of the file calls a growing function."""


_GENERATED = re.compile(r"(?i)\bAS\s*\(")


def _schema_grows(conn: sqlite3.Connection) -> bool:
    """A view, or a table with a generated column, whose SQL calls a growing function.

    Column types such as ``char(20)`` look like calls; only views and tables with
    an ``AS (...)`` column are searched, so they rarely count.
    """
    rows = conn.execute("SELECT type, sql FROM sqlite_master WHERE type IN ('view', 'table') AND sql IS NOT NULL")
    for kind, sql in rows.fetchall():
        if not isinstance(sql, str) or (kind == "table" and not _GENERATED.search(sql)):
            continue
        if _GROWING_CALL.search(sql):
            return True
    return False


def _connect_virtual_tables(conn: sqlite3.Connection) -> None:
    """Connect every virtual table of the file (no authorizer is installed yet); a missing module is skipped."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
    ).fetchall()
    for (name,) in rows:
        quoted = '"' + str(name).replace('"', '""') + '"'
        try:
            conn.execute(f"SELECT 1 FROM {quoted} LIMIT 0").fetchall()
        except sqlite3.Error:  # no such module here: statements on it get a status of their own
            pass


def _configure(conn: sqlite3.Connection, limits: Limits, cache_kib: int | None) -> None:
    """A new connection's read-only PRAGMAs and limits, then a check that the file is a database.

    Raises:
        sqlite3.DatabaseError: a non-SQLite, malformed or empty file.
    """
    conn.text_factory = _decode_text
    conn.execute("PRAGMA query_only=1")
    conn.execute("PRAGMA mmap_size=0")
    # Sorts, DISTINCT and temporary b-trees stay in memory (inside a worker's RLIMIT_AS), never on disk.
    conn.execute("PRAGMA temp_store=MEMORY")
    if cache_kib is not None:
        conn.execute(f"PRAGMA cache_size={-max(64, int(cache_kib))}")
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max(1000, limits.max_value_bytes))
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, max(1000, limits.max_sql_bytes))
    n_tables, n_virtual = conn.execute(
        "SELECT count(*), count(CASE WHEN sql LIKE 'CREATE VIRTUAL TABLE%' THEN 1 END) FROM sqlite_master"
    ).fetchone()
    if n_tables == 0:
        raise sqlite3.DatabaseError("database has no tables (empty or not a database)")
    if n_virtual:
        _connect_virtual_tables(conn)


def _cell_bytes(value: object) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    return len(value) if isinstance(value, bytes) else 8


class SandboxConnection:
    """A read-only connection with the authorizer, limits and deadline installed."""

    def __init__(
        self,
        path: str,
        limits: Limits,
        *,
        immutable: bool = True,
        cache_kib: int | None = None,
        refuse_growing: bool = False,
    ) -> None:
        self.path = path
        self.limits = limits
        self._period = max(1, limits.progress_steps)
        self._deadline = float("inf")
        self._max_calls: int | None = None  # handler calls allowed (None: no step budget)
        self._budget = 0  # the step budget as given (0: none)
        self._cpu_budget = 0.0  # the CPU budget as given (reported; enforced by the caller's watchdog)
        self._cpu0 = 0.0  # the thread's CPU time when the statement started
        self._reported_timeout_s = 0.0  # the timeout the result reports (the statement's, when this is a lane)
        self._calls = 0
        # Why the statement was stopped: "steps" or "wall" (the handler), "cpu" (stop()), "" (an outside interrupt).
        self._stop = ""
        # With ``refuse_growing``, statements calling a GROWING_FUNCTIONS member fail
        # to compile and ``refused`` says so (the caller hands them to a worker);
        # a file whose schema calls one is not opened at all (views and generated
        # columns are not seen by the authorizer). Statements are then never
        # cached, so the authorizer sees every one.
        self.refuse_growing = refuse_growing
        self.refused = False
        self._pragma_tables: set[str] = set()  # READONLY_PRAGMAS whose table-valued form is connected
        uri_path = urllib.parse.quote(os.path.abspath(path))
        uri = f"file:{uri_path}?mode=ro" + ("&immutable=1" if immutable else "")
        # No statement cache: a re-used statement keeps its VM step counter, which would shift
        # the progress handler's calls and so the step count against an uncached run.
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, cached_statements=0)
        try:
            _configure(conn, limits, cache_kib)
            if refuse_growing and _schema_grows(conn):
                raise _GrowingSchema("the schema calls a function whose result can outgrow its arguments")
            self._authorize: Callable[..., int] = self._refusing_authorizer if refuse_growing else _authorizer
            conn.set_authorizer(self._authorize)
            conn.set_progress_handler(self._progress, max(1, limits.progress_steps))
        except BaseException:
            conn.close()
            raise
        self.conn = conn

    def _refusing_authorizer(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None
    ) -> int:
        if action in _ALLOWED_ACTIONS:  # most calls: reads, answered without a second call
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION and _grows((arg2 or "").lower()):
            self.refused = True
            return sqlite3.SQLITE_DENY
        return _authorizer(action, arg1, arg2, db, trigger)

    def _connect_pragma_tables(self, sql: str) -> None:
        """Connect the read-only PRAGMAs' tables that ``sql`` names, once per connection.

        SQLite creates a table-valued PRAGMA's table on first use, and that creation asks the
        authorizer for a write to ``sqlite_master``, which it denies. So, as for virtual tables at
        open, each :data:`READONLY_PRAGMAS` table the statement names is created here, by a fixed
        statement with every action allowed; the model's own statement then runs under the
        authorizer, which still refuses every other PRAGMA. This runs before the statement's
        counters start, so its VM steps are never counted.
        """
        names = {m.lower() for m in _PRAGMA_TABLE.findall(sql)} & READONLY_PRAGMAS
        todo = names - self._pragma_tables
        if not todo:
            return
        self.conn.set_authorizer(_allow_all)  # None would clear it only on Python >= 3.11
        try:
            for name in sorted(todo):
                try:
                    self.conn.execute(f"SELECT * FROM pragma_{name} LIMIT 0").fetchall()
                except sqlite3.Error:  # not in this SQLite (or interrupted): refused as before, tried again next time
                    continue
                self._pragma_tables.add(name)
        finally:
            self.conn.set_authorizer(self._authorize)

    def stop(self, reason: str) -> None:
        """Stop the running statement from another thread; ``reason`` ``"cpu"`` makes it ``timeout_cpu``.

        Args:
            reason: why (``"cpu"``; anything else reads as an outside interrupt).
        """
        if not self._stop:
            self._stop = reason
        self.conn.interrupt()

    def _progress(self) -> int:
        self._calls += 1
        if self._max_calls is not None and self._calls > self._max_calls:
            self._stop = "steps"
            return 1
        if time.monotonic() > self._deadline:
            self._stop = "wall"
            return 1
        return 0

    @property
    def vm_steps(self) -> int:
        """VM instructions of the last statement, in multiples of ``limits.progress_steps``."""
        return self._calls * self._period

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # pragma: no cover - closing a broken handle
            pass

    def _finish(self, cur: sqlite3.Cursor | None) -> None:
        """After every statement: clear the deadline, close the cursor, leave no transaction open."""
        self._deadline = float("inf")
        self._max_calls = None
        if cur is not None:
            try:
                cur.close()
            except Exception:  # pragma: no cover - closing a broken cursor
                pass
        if self.conn.in_transaction:
            try:
                self.conn.rollback()
            except sqlite3.Error:  # pragma: no cover
                pass

    def _result(
        self,
        status: Status,
        t0: float,
        timeout_s: float,
        detail: str = "",
        rows: tuple | None = None,
        columns: tuple[str, ...] = (),
        total_rows: int | None = None,
    ) -> ExecResult:
        return ExecResult(
            status,
            rows,
            columns,
            time.perf_counter() - t0,
            detail,
            self._reported_timeout_s,
            vm_steps=self.vm_steps,
            max_vm_steps=self._budget,
            cpu_s=time.thread_time() - self._cpu0,
            max_cpu_s=self._cpu_budget,
            total_rows=total_rows,
        )

    def _interrupted(self, t0: float, timeout_s: float) -> ExecResult:
        """The result of an interrupted statement: a budget (a verdict) or the wall clock (never one)."""
        if self._stop == "steps":
            return self._result(Status.TIMEOUT, t0, timeout_s, f"more than max_vm_steps={self._budget} VM steps")
        if self._stop == "cpu":
            detail = f"more than max_cpu_s={self._cpu_budget:g} CPU seconds"
            return self._result(Status.TIMEOUT_CPU, t0, timeout_s, detail)
        why = f"wall-clock backstop of {timeout_s:g} s passed" if self._stop == "wall" else "interrupted from outside"
        return self._result(Status.TIMEOUT_WALL, t0, timeout_s, why)

    def _rows(self, cur: sqlite3.Cursor, cap: Cap) -> tuple[list[tuple], int] | None:
        """The rows kept under ``cap`` and how many there were; None past ``limits.max_rows``."""
        max_rows = self.limits.max_rows
        kept: list[tuple] = []
        total = 0
        keep = cap.rows if cap.rows >= 0 else max_rows
        room = cap.max_bytes if cap.max_bytes >= 0 else -1
        if cap.whole:  # one call; the row cap bounds what it reads
            kept = cur.fetchmany(max_rows + 1)
            return (kept, len(kept)) if len(kept) <= max_rows else None
        while True:
            chunk = cur.fetchmany(1024)
            if not chunk:
                return kept, total
            total += len(chunk)
            if total > max_rows:
                return None
            for row in chunk:
                if len(kept) >= keep:
                    break
                row = tuple(map(cap.clip_cell, row))
                size = sum(map(_cell_bytes, row))
                if room >= 0 and size > room:
                    keep = len(kept)  # this row and every later one are left out
                    break
                room -= size
                kept.append(row)

    def _start(self, timeout_s: float, max_vm_steps: int, max_cpu_s: float, reported_timeout_s: float | None) -> None:
        """Reset the per-statement counters and budgets that the progress handler reads."""
        self._cpu0 = time.thread_time()
        self._calls, self._stop = 0, ""
        self._budget = budget = max(0, int(max_vm_steps))
        self._cpu_budget = max(0.0, max_cpu_s)
        self._max_calls = budget // self._period if budget else None
        self._deadline = time.monotonic() + timeout_s
        self._reported_timeout_s = timeout_s if reported_timeout_s is None else reported_timeout_s
        self.refused = False

    def run(
        self,
        sql: str,
        timeout_s: float,
        max_vm_steps: int = 0,
        *,
        max_cpu_s: float = 0.0,
        cap: Cap = WHOLE,
        reported_timeout_s: float | None = None,
    ) -> ExecResult:
        """Execute one statement; always returns an :class:`ExecResult`.

        Args:
            sql: one statement.
            timeout_s: the wall-clock backstop (past it: ``timeout_wall``).
            max_vm_steps: the work budget in VM instructions (past it: ``timeout``); 0: none.
                Counted in multiples of ``limits.progress_steps`` (rounded down).
            max_cpu_s: the CPU budget, reported in the result; a caller's watchdog enforces it
                with :meth:`stop` (``timeout_cpu``).
            cap: how much of the result to keep (rows, cell length, bytes, column names).
            reported_timeout_s: the ``timeout_s`` the result reports (default: ``timeout_s``).

        Returns:
            The result, with the VM steps and the CPU seconds it took.
        """
        if len(sql) <= self.limits.max_sql_bytes and "pragma_" in sql.lower():  # cheaper than the regex
            self._connect_pragma_tables(sql)
        t0 = time.perf_counter()
        self._start(timeout_s, max_vm_steps, max_cpu_s, reported_timeout_s)
        cur = None
        try:
            if "\x00" in sql:
                return self._result(Status.SYNTAX_ERROR, t0, timeout_s, "NUL byte in SQL")
            if len(sql) > self.limits.max_sql_bytes:
                return self._result(Status.TOO_LARGE, t0, timeout_s, "SQL longer than max_sql_bytes")
            cur = self.conn.execute(sql)
            description = cur.description
            if description is None:  # "", ";" or a comment: nothing was a query
                return self._result(Status.SYNTAX_ERROR, t0, timeout_s, "no query in SQL")
            columns = tuple(cap.clip_cell(d[0]) for d in description) if cap.names else ()
            fetched = self._rows(cur, cap)
            if fetched is None:
                detail = f"more than max_rows={self.limits.max_rows} rows"
                return self._result(Status.TOO_LARGE, t0, timeout_s, detail)
            rows, total = fetched
            counted = None if cap.whole else total
            return self._result(Status.OK, t0, timeout_s, rows=tuple(rows), columns=columns, total_rows=counted)
        except MemoryError:
            return self._result(Status.TOO_LARGE, t0, timeout_s, "out of memory")
        except (sqlite3.Error, sqlite3.Warning, ValueError, UnicodeError, OverflowError) as exc:
            status, detail = classify_error(exc)
            if status is Status.TIMEOUT:
                return self._interrupted(t0, timeout_s)
            return self._result(status, t0, timeout_s, detail)
        finally:
            self._finish(cur)


# Primary result codes (``sqlite3.Error.sqlite_errorcode & 0xFF``) that decide the status alone.
_BY_CODE = {
    9: Status.TIMEOUT,  # SQLITE_INTERRUPT (told apart from the wall backstop by SandboxConnection.run)
    8: Status.FORBIDDEN,  # SQLITE_READONLY
    23: Status.FORBIDDEN,  # SQLITE_AUTH
    3: Status.FORBIDDEN,  # SQLITE_PERM
    11: Status.DB_CORRUPT,  # SQLITE_CORRUPT
    26: Status.DB_CORRUPT,  # SQLITE_NOTADB
    10: Status.DB_CORRUPT,  # SQLITE_IOERR
    7: Status.TOO_LARGE,  # SQLITE_NOMEM
    18: Status.TOO_LARGE,  # SQLITE_TOOBIG
    13: Status.TOO_LARGE,  # SQLITE_FULL
}
# Messages of the generic codes (and of every error on Python < 3.11, which has no codes), matched
# only at the START of the message: SQLite puts the names the query chose after these prefixes.
_BY_PREFIX: tuple[tuple[str, Status], ...] = (
    ("interrupted", Status.TIMEOUT),
    ("not authorized", Status.FORBIDDEN),
    ("authorization denied", Status.FORBIDDEN),
    ("attempt to write a readonly database", Status.FORBIDDEN),
    ("you can only execute one statement at a time", Status.FORBIDDEN),
    ("cannot start a transaction within a transaction", Status.FORBIDDEN),
    ("too many attached databases", Status.FORBIDDEN),
    ("access permission denied", Status.FORBIDDEN),
    ("file is not a database", Status.DB_CORRUPT),
    ("database disk image is malformed", Status.DB_CORRUPT),
    ("malformed database schema", Status.DB_CORRUPT),
    ("disk i/o error", Status.DB_CORRUPT),
    ("no such table:", Status.SCHEMA_ERROR),
    ("no such column:", Status.SCHEMA_ERROR),
    ("ambiguous column name:", Status.SCHEMA_ERROR),
    ("no such index:", Status.SCHEMA_ERROR),
    ("no such module:", Status.FORBIDDEN),  # a virtual table whose module this SQLite lacks
    ("vtable constructor failed:", Status.FORBIDDEN),
    ("string or blob too big", Status.TOO_LARGE),
    ("out of memory", Status.TOO_LARGE),
    ("statement too long", Status.TOO_LARGE),
    ("query string is too large", Status.TOO_LARGE),
    ("expression tree is too large", Status.TOO_LARGE),
    ("too many ", Status.TOO_LARGE),
    ("at most ", Status.TOO_LARGE),
    ("parser stack overflow", Status.TOO_LARGE),
)


# The prefixes as one regular expression: its alternatives are tried in the tuple's order, as the loop did.
_PREFIX = re.compile("|".join(re.escape(prefix) for prefix, _ in _BY_PREFIX))
_PREFIX_STATUS = dict(reversed(_BY_PREFIX))  # a prefix listed twice keeps its first status


def _sqlite_code(exc: BaseException) -> int | None:
    """SQLite's primary result code of ``exc`` (Python >= 3.11), else None."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def classify_error(exc: BaseException) -> tuple[Status, str]:
    """Map an exception raised by ``sqlite3`` to a :class:`Status` and a short detail.

    SQLite's result code decides first; a generic ``SQLITE_ERROR`` (and any error on Python
    3.10, which has no codes) is classified by a prefix anchored at the start of its message,
    never by words found anywhere in it, since the message quotes names the query chose.

    Args:
        exc: what ``sqlite3`` raised.

    Returns:
        ``(status, detail)``; anything unrecognised is ``syntax_error``.

    >>> classify_error(sqlite3.OperationalError("no such column: file is not a database"))[0].value
    'schema_error'
    """
    msg = str(exc) or type(exc).__name__
    if isinstance(exc, UnicodeError):
        return Status.SYNTAX_ERROR, f"cannot encode SQL: {type(exc).__name__}"
    if msg.lower().startswith("the query contains a null character"):
        return Status.SYNTAX_ERROR, "NUL byte in SQL"
    if isinstance(exc, OverflowError):
        return Status.TOO_LARGE, msg[:200]
    status = _BY_CODE.get(_sqlite_code(exc) or 1)
    if status is None:
        prefix = _PREFIX.match(msg.lower())
        status = _PREFIX_STATUS[prefix.group()] if prefix else Status.SYNTAX_ERROR
    if status is Status.TIMEOUT:
        return status, "interrupted"
    if status is Status.FORBIDDEN and msg.lower().startswith("you can only execute one statement"):
        return status, "more than one statement"
    return status, msg[:200]


def open_sandbox(
    path: str, limits: Limits, *, immutable: bool = True, cache_kib: int | None = None, refuse_growing: bool = False
) -> SandboxConnection | ExecResult:
    """Open ``path`` read-only, or return the failure as an :class:`ExecResult`.

    ``cache_kib`` caps the connection's page cache (SQLite's default is 2 MiB);
    ``refuse_growing``: see :class:`SandboxConnection` (a file whose schema calls
    such a function is refused as ``forbidden``). A WAL-mode file with data in
    its ``-wal`` file is ``db_corrupt`` under ``immutable`` (which would not read it),
    with a detail saying how to fix it.
    """
    if not isinstance(path, str) or not path or db_signature(path) is None:
        return ExecResult(Status.DB_MISSING, detail=f"no database file at {path!r}")
    if immutable and _pending_wal(path):
        return ExecResult(Status.DB_CORRUPT, detail=_WAL_HINT.replace("FILE", path))
    try:
        return SandboxConnection(path, limits, immutable=immutable, cache_kib=cache_kib, refuse_growing=refuse_growing)
    except _GrowingSchema as exc:
        return ExecResult(Status.FORBIDDEN, detail=str(exc))
    except sqlite3.OperationalError as exc:
        if "unable to open" in str(exc).lower():
            return ExecResult(Status.DB_MISSING, detail=str(exc)[:200])
        return ExecResult(Status.DB_CORRUPT, detail=str(exc)[:200])
    except (sqlite3.Error, ValueError) as exc:
        return ExecResult(Status.DB_CORRUPT, detail=str(exc)[:200])
