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
5. a progress-handler deadline interrupts the VM inside SQLite, and limits on
   value length, SQL length and returned rows stop memory bombs early.

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
from dataclasses import dataclass

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
    """.split()
)

# PRAGMAs that only describe the schema. Everything else (all writes) is denied.
READONLY_PRAGMAS = frozenset(
    "table_info table_xinfo index_list index_info index_xinfo foreign_key_list table_list".split()
)


@dataclass(frozen=True)
class Limits:
    """Per-statement limits. Defaults suit Spider/BIRD-sized training databases."""

    max_rows: int = 100_000
    max_value_bytes: int = 16 * 1024 * 1024
    max_sql_bytes: int = 1_000_000
    progress_steps: int = 1_000


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
    "char concat concat_ws format printf hex quote replace zeroblob group_concat string_agg unhex -> ->>".split()
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
        self._deadline = float("inf")
        # With ``refuse_growing``, statements calling a GROWING_FUNCTIONS member fail
        # to compile and ``refused`` says so (the caller hands them to a worker);
        # a file whose schema calls one is not opened at all (views and generated
        # columns are not seen by the authorizer). Statements are then never
        # cached, so the authorizer sees every one.
        self.refuse_growing = refuse_growing
        self.refused = False
        uri_path = urllib.parse.quote(os.path.abspath(path))
        uri = f"file:{uri_path}?mode=ro" + ("&immutable=1" if immutable else "")
        conn = sqlite3.connect(
            uri, uri=True, isolation_level=None, check_same_thread=False, cached_statements=0 if refuse_growing else 128
        )
        try:
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
            # Validate: raises DatabaseError for a non-SQLite or malformed file.
            n_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if n_tables == 0:
                raise sqlite3.DatabaseError("database has no tables (empty or not a database)")
            if refuse_growing and _schema_grows(conn):
                raise _GrowingSchema("the schema calls a function whose result can outgrow its arguments")
            conn.set_authorizer(self._refusing_authorizer if refuse_growing else _authorizer)
            conn.set_progress_handler(self._progress, max(1, limits.progress_steps))
        except BaseException:
            conn.close()
            raise
        self.conn = conn

    def _refusing_authorizer(self, action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None) -> int:
        if action == sqlite3.SQLITE_FUNCTION and _grows((arg2 or "").lower()):
            self.refused = True
            return sqlite3.SQLITE_DENY
        return _authorizer(action, arg1, arg2, db, trigger)

    def _progress(self) -> int:
        return 1 if time.monotonic() > self._deadline else 0

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # pragma: no cover - closing a broken handle
            pass

    def _finish(self, cur: sqlite3.Cursor | None) -> None:
        """After every statement: clear the deadline, close the cursor, leave no transaction open."""
        self._deadline = float("inf")
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

    def run(self, sql: str, timeout_s: float) -> ExecResult:
        """Execute one statement; always returns an :class:`ExecResult`."""
        t0 = time.perf_counter()
        self._deadline = time.monotonic() + timeout_s
        self.refused = False
        cur = None
        try:
            if "\x00" in sql:
                return ExecResult(Status.SYNTAX_ERROR, detail="NUL byte in SQL", timeout_s=timeout_s)
            if len(sql) > self.limits.max_sql_bytes:
                return ExecResult(Status.TOO_LARGE, detail="SQL longer than max_sql_bytes", timeout_s=timeout_s)
            cur = self.conn.cursor()
            cur.execute(sql)
            if cur.description is None:  # "", ";" or a comment: nothing was a query
                return ExecResult(Status.SYNTAX_ERROR, detail="no query in SQL", timeout_s=timeout_s)
            columns = tuple(d[0] for d in cur.description)
            max_rows = self.limits.max_rows
            rows: list[tuple] = []
            while True:
                chunk = cur.fetchmany(1024)
                if not chunk:
                    break
                rows.extend(chunk)
                if len(rows) > max_rows:
                    return ExecResult(
                        Status.TOO_LARGE,
                        detail=f"more than max_rows={max_rows} rows",
                        elapsed_s=time.perf_counter() - t0,
                        timeout_s=timeout_s,
                    )
            return ExecResult(
                Status.OK,
                rows=tuple(rows),
                columns=columns,
                elapsed_s=time.perf_counter() - t0,
                timeout_s=timeout_s,
            )
        except MemoryError:
            return ExecResult(Status.TOO_LARGE, detail="out of memory", timeout_s=timeout_s)
        except (sqlite3.Error, sqlite3.Warning, ValueError, UnicodeError, OverflowError) as exc:
            status, detail = classify_error(exc)
            return ExecResult(status, detail=detail, elapsed_s=time.perf_counter() - t0, timeout_s=timeout_s)
        finally:
            self._finish(cur)


_TOO_LARGE = ("string or blob too big", "out of memory", "too long", "too large", "too many", "maximum")
_SCHEMA = ("no such table", "no such column", "ambiguous column", "no such index")
_FORBIDDEN = (
    "not authorized",
    "authorization denied",
    "readonly",
    "read-only",
    "one statement at a time",
    "prohibited",
    "access permission denied",
    "cannot start a transaction",
    "too many attached",
)
# The file's fault, never the query's: "malformed JSON" (json('x')) is a query error.
_CORRUPT = (
    "file is not a database",
    "disk image is malformed",
    "malformed database schema",
    "not a database",
    "disk i/o error",
    "no tables",
)


def classify_error(exc: BaseException) -> tuple[Status, str]:
    """Map an exception raised by ``sqlite3`` to a :class:`Status` and a short detail."""
    msg = str(exc) or type(exc).__name__
    low = msg.lower()
    if isinstance(exc, sqlite3.OperationalError) and "interrupted" in low:
        return Status.TIMEOUT, "interrupted at deadline"
    if isinstance(exc, (sqlite3.ProgrammingError, sqlite3.Warning)) and "one statement" in low:
        return Status.FORBIDDEN, "more than one statement"
    if isinstance(exc, (UnicodeError,)):
        return Status.SYNTAX_ERROR, f"cannot encode SQL: {type(exc).__name__}"
    if isinstance(exc, ValueError) and "null character" in low:
        return Status.SYNTAX_ERROR, "NUL byte in SQL"
    if isinstance(exc, OverflowError):
        return Status.TOO_LARGE, msg[:200]
    if any(s in low for s in _FORBIDDEN):
        return Status.FORBIDDEN, msg[:200]
    if any(s in low for s in _CORRUPT):
        return Status.DB_CORRUPT, msg[:200]
    if any(s in low for s in _SCHEMA):
        return Status.SCHEMA_ERROR, msg[:200]
    if any(s in low for s in _TOO_LARGE):
        return Status.TOO_LARGE, msg[:200]
    return Status.SYNTAX_ERROR, msg[:200]


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
