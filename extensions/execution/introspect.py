"""Read-only introspection of a database: its schema, and sample values per column for prompts.

Runs through the same sandbox as everything else (read-only URI, authorizer,
deadline), in-process: these are small bounded queries on trusted names. This
is the layer that turns a ``.sqlite`` path into a :class:`Schema` (``sql/``
never reads databases).

>>> load_schema({"t": ["a", "b"]}).columns("t")
('a', 'b')
"""

from __future__ import annotations

import functools
import os
from typing import Any

from extensions.errors import SchemaLoadError
from extensions.execution.sandbox import Limits, open_sandbox
from extensions.execution.status import ExecResult, Status
from extensions.sql.memo import memoize, text_bytes
from extensions.sql.schema import Column, Schema, Table

TableInfo = tuple[str, list[tuple[str, str, bool]], list[tuple[str, str, str]]]


def read_tables(path: str) -> list[TableInfo]:
    """``[(table, [(column, type, is_pk)], [(column, ref_table, ref_column)])]`` read through the sandbox.

    A virtual table (FTS5, R*Tree, ...) is not opened: its module runs statements when it connects, which
    the sandbox refuses. Its columns are the ones its ``CREATE VIRTUAL TABLE`` declares
    (:func:`declared_columns`); its shadow tables (``docs_data``, ``boxes_node``, ...) are left out.

    Args:
        path: the SQLite file.

    Returns:
        Tables, virtual tables and views in creation order, with their columns and foreign keys.

    Raises:
        ValueError: the file is missing, not a database, or unreadable.

    (Use :func:`load_schema` for a cached :class:`Schema`.)
    """
    conn = open_sandbox(path, Limits())
    if isinstance(conn, ExecResult):
        raise ValueError(conn.detail or conn.status.value)
    try:
        names = conn.run(
            "SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
            10.0,
        )
        if names.status is not Status.OK:
            raise ValueError(names.detail)
        kinds = _table_kinds(conn)
        out: list[TableInfo] = []
        for name, sql in names.rows or ():
            kind = kinds.get(name) or ("virtual" if _is_virtual(sql) else "table")
            if kind == "virtual":
                out.append((name, [(c, "", False) for c in declared_columns(sql or "")], []))
            elif kind != "shadow":
                out.append(_ordinary_table(conn, name))
        return out
    finally:
        conn.close()


def _table_kinds(conn: Any) -> dict[str, str]:
    """``{name: "table" | "view" | "virtual" | "shadow"}`` of the main schema (empty before SQLite 3.37)."""
    listed = conn.run("PRAGMA table_list", 10.0)
    if listed.status is not Status.OK:
        return {}
    return {row[1]: row[2] for row in listed.rows or () if row[0] == "main"}


def _is_virtual(sql: str | None) -> bool:
    return (sql or "").lstrip()[:20].upper().split()[:2] == ["CREATE", "VIRTUAL"]


def _ordinary_table(conn: Any, name: str) -> TableInfo:
    cols = conn.run(f"PRAGMA table_info({_q(name)})", 10.0)
    fks = conn.run(f"PRAGMA foreign_key_list({_q(name)})", 10.0)
    if cols.status is not Status.OK:
        raise ValueError(cols.detail)
    return (
        name,
        [(r[1], r[2] or "", bool(r[5])) for r in cols.rows or ()],
        [(r[3], r[2], r[4] or "") for r in (fks.rows or ()) if fks.status is Status.OK],
    )


def declared_columns(create_sql: str) -> list[str]:
    """The columns a ``CREATE VIRTUAL TABLE ... USING module(args)`` declares.

    Each module argument without ``=`` names a column by its first word (quotes removed, an R*Tree
    auxiliary column's ``+`` dropped); ``tokenize=...``, ``content=...`` and other options are skipped.
    Hidden columns (FTS5's ``rank``, the table-named MATCH column) are not listed.

    Args:
        create_sql: the statement, as ``sqlite_master.sql`` holds it.

    Returns:
        Column names in declaration order (empty when the text has no argument list).

    >>> declared_columns("CREATE VIRTUAL TABLE docs USING fts5(title, body UNINDEXED, tokenize='porter')")
    ['title', 'body']
    >>> declared_columns('CREATE VIRTUAL TABLE boxes USING rtree(id, "min x", maxx, +label)')
    ['id', 'min x', 'maxx', 'label']
    """
    start, end = create_sql.find("("), create_sql.rfind(")")
    if start < 0 or end <= start:
        return []
    out = []
    for arg in _split_args(create_sql[start + 1 : end]):
        if _top_level_equals(arg):
            continue
        word = _first_word(arg.strip().lstrip("+").strip())
        if word:
            out.append(word)
    return out


_QUOTES = {'"': '"', "'": "'", "`": "`", "[": "]"}


def _split_args(text: str) -> list[str]:
    """``text`` split at commas outside quotes and parentheses."""
    args, depth, quote, current = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in _QUOTES:
            quote = _QUOTES[ch]
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif ch == "," and depth == 0:
            args.append("".join(current))
            current = []
            continue
        current.append(ch)
    args.append("".join(current))
    return args


def _top_level_equals(arg: str) -> bool:
    """Whether an argument is an option (``name=value``): an ``=`` outside quotes."""
    quote = ""
    for ch in arg:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in _QUOTES:
            quote = _QUOTES[ch]
        elif ch == "=":
            return True
    return False


def _first_word(arg: str) -> str:
    """The first word of an argument, unquoted (``"a b"`` is one word)."""
    if arg[:1] in _QUOTES:
        close = arg.find(_QUOTES[arg[0]], 1)
        return arg[1:close] if close > 0 else arg[1:]
    return arg.split()[0] if arg.split() else ""


def load_schema(src: Any) -> Schema:
    """A :class:`Schema` from a ``.sqlite`` path or anything :meth:`Schema.coerce` accepts.

    Args:
        src: a path to a SQLite file (read read-only, cached by file signature), a Schema,
            a dict, a Spider ``tables.json`` entry, CREATE TABLE text, or None.

    Returns:
        The schema.

    Raises:
        SchemaLoadError: the source is neither a readable database nor a schema.

    >>> load_schema("CREATE TABLE t (a INT)").columns("t")
    ('a',)
    """
    if isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        if "create table" not in path.lower() and len(path) < 4096 and os.path.isfile(path):
            try:
                st = os.stat(path)
            except OSError as exc:
                raise SchemaLoadError(f"cannot read database {path!r}: {exc}") from exc
            return _schema_from_sqlite(os.path.abspath(path), st.st_mtime_ns, st.st_size, st.st_ino)
    return Schema.coerce(src)


def _schema_bytes(schema: Schema) -> int:
    return sum(text_bytes(t.name, *(c.name for c in t.columns), *(c.type for c in t.columns)) for t in schema.tables)


@memoize(1024, 64 * 2**20, value_bytes=_schema_bytes)
def _schema_from_sqlite(path: str, mtime_ns: int, size: int, inode: int) -> Schema:
    try:
        raw = read_tables(path)
    except ValueError as exc:
        raise SchemaLoadError(f"cannot read schema of {path!r}: {exc}") from exc
    return Schema(
        tuple(Table(name, tuple(Column(c, t, pk) for c, t, pk in cols), tuple(fks)) for name, cols, fks in raw)
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@functools.lru_cache(maxsize=512)
def _samples(path: str, mtime_ns: int, k: int, max_chars: int) -> dict[tuple[str, str], tuple[object, ...]]:
    conn = open_sandbox(path, Limits(max_rows=max(k, 1)))
    if isinstance(conn, ExecResult):
        return {}
    out: dict[tuple[str, str], tuple[object, ...]] = {}
    try:
        schema = load_schema(path)
        for t in schema.tables:
            for c in t.columns:
                sql = f"SELECT DISTINCT {_q(c.name)} FROM {_q(t.name)} WHERE {_q(c.name)} IS NOT NULL LIMIT {k}"
                r = conn.run(sql, 2.0)
                if r.status is Status.OK and r.rows:
                    vals: list[object] = []
                    for (v,) in r.rows:
                        if isinstance(v, bytes):
                            v = v.hex()
                        if isinstance(v, str) and len(v) > max_chars:
                            v = v[:max_chars] + "..."
                        vals.append(v)
                    out[(t.name.lower(), c.name.lower())] = tuple(vals)
    finally:
        conn.close()
    return out


def sample_values(path: str, k: int = 3, max_chars: int = 40) -> dict[tuple[str, str], tuple[object, ...]]:
    """``{(table, column): (value, ...)}`` with up to ``k`` distinct non-NULL values each.

    Args:
        path: the SQLite file.
        k: values per column (0 or less: none).
        max_chars: longer text values are cut and end in ``...``.

    Returns:
        The samples, keyed by lower-cased names; empty when the file cannot be read.

    >>> sample_values("/no/such.sqlite")
    {}
    """
    if k <= 0:
        return {}
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return {}
    return _samples(os.path.abspath(path), mtime, k, max_chars)
