"""Parse SQL once with sqlglot (SQLite dialect) and remember the outcome.

Never raises: ``ParseError``, ``TokenError`` (not a ``ParseError``),
``RecursionError`` and anything else become a :class:`Parsed` with ``error``
set. Text is first checked by :func:`extensions.sql.guard.check_sql`: too long
(``max_chars``) or too deeply nested text never reaches sqlglot, so no
recursion limit and no thread stack size can make parsing overflow the C
stack. sqlglot's own warnings (which quote the SQL) are not logged for these
parses.

The returned expression is shared through a cache bounded in bytes: treat it
as read-only (``.copy()`` before transforming).

>>> parse_sql("SELECT a FROM t").ok
True
>>> parse_sql("SELECT 1; SELECT 2").error
'multiple_statements'
>>> parse_sql("SELECT 'unterminated").error.startswith('token_error')
True
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError

from extensions._util.log import log_once
from extensions.sql.guard import MAX_SQL_CHARS, check_sql
from extensions.sql.memo import memoize, text_bytes

log = logging.getLogger(__name__)

DEFAULT_MAX_CHARS = MAX_SQL_CHARS
PARSE_CACHE_ENTRIES = 8192
PARSE_CACHE_BYTES = 64 * 2**20
NODE_BYTES = 1024  # an upper estimate of one sqlglot node with its token and args
WRITE_TYPES: tuple[type, ...] = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Command,
    exp.Merge,
    exp.TruncateTable,
    exp.Pragma,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Attach,
    exp.Detach,
)


@dataclass(frozen=True)
class Parsed:
    """Outcome of parsing; ``is_query``/``is_write`` are computed once, at parse time."""

    sql: str
    expression: exp.Expression | None
    error: str | None = None
    is_write: bool = False  # contains INSERT/UPDATE/DELETE/DDL/PRAGMA/ATTACH/transaction
    is_query: bool = False  # a read-only query (SELECT, set operation, VALUES, WITH ... SELECT)
    nodes: int = 0  # nodes of the tree, counted at parse time (0: not counted)

    @property
    def ok(self) -> bool:
        return self.expression is not None and self.error is None


_IS_WRITE: dict[type, bool] = {}  # node class -> is it one of WRITE_TYPES (or a subclass)


def _parsed(sql: str, e: exp.Expression, error: str | None = None) -> Parsed:
    """The outcome for a parsed statement: one walk of its tree finds any write and counts the nodes.

    Whether a node is a write is decided once per node class (a dict lookup per node, not 15 subclass checks).
    """
    write = False
    nodes = 0
    is_write = _IS_WRITE
    for node in e.walk():
        nodes += 1
        if not write:
            cls = type(node)
            found = is_write.get(cls)
            if found is None:
                found = is_write[cls] = issubclass(cls, WRITE_TYPES)
            write = found
    query = isinstance(e, (exp.Query, exp.Values)) and not write
    return Parsed(sql, e, error, write, query, nodes)


_DIALECT = Dialect.get_or_raise("sqlite")
_local = threading.local()


def _parse_statements(sql: str) -> list[exp.Expression | None]:
    """``sqlglot.parse(sql, read="sqlite")`` with a per-thread parser (building one costs ~100 us)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = _DIALECT.parser()
        _local.tokenizer = _DIALECT.tokenizer_class(dialect=_DIALECT)
    return parser.parse(_local.tokenizer.tokenize(sql), sql)


class _QuietFilter(logging.Filter):
    """Drops sqlglot's records (they quote the SQL) while this thread parses for us."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_local, "quiet", False)


logging.getLogger("sqlglot").addFilter(_QuietFilter())


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the ``sqlglot`` logger for this thread only (user code elsewhere keeps its warnings)."""
    previous = getattr(_local, "quiet", False)
    _local.quiet = True
    try:
        yield
    finally:
        _local.quiet = previous


def tree_bytes(parsed: Parsed) -> int:
    """Estimated bytes a parse holds in the cache: a fixed cost per node plus its text.

    Args:
        parsed: an outcome of :func:`parse_sql`.

    Returns:
        The bytes the parse cache charges for it.

    >>> tree_bytes(parse_sql("SELECT a FROM t")) > tree_bytes(parse_sql("SELECT"))
    True
    """
    if parsed.expression is None:
        return text_bytes(parsed.error)
    nodes = parsed.nodes or sum(1 for _ in parsed.expression.walk())
    return NODE_BYTES * nodes + text_bytes(parsed.sql)


@memoize(PARSE_CACHE_ENTRIES, PARSE_CACHE_BYTES, value_bytes=tree_bytes)
def _parse(sql: str, max_chars: int) -> Parsed:
    refused = check_sql(sql, max_chars=max_chars)
    if refused is not None:
        return Parsed(sql, None, refused)
    try:
        with _quiet():
            statements = [s for s in _parse_statements(sql) if s is not None]
    except TokenError as exc:
        return Parsed(sql, None, f"token_error: {str(exc)[:120]}")
    except ParseError as exc:
        return Parsed(sql, None, f"parse_error: {str(exc).splitlines()[0][:120] if str(exc) else ''}")
    except RecursionError:
        return Parsed(sql, None, "too_deep: recursion limit")
    except Exception as exc:  # a sqlglot bug on odd input: unparseable, and logged once
        log_once(log, f"parse:{type(exc).__name__}", "sqlglot raised %r while parsing; treated as unparseable", exc)
        return Parsed(sql, None, f"parse_error: {type(exc).__name__}")
    if not statements:
        return Parsed(sql, None, "empty")
    if len(statements) > 1:
        return _parsed(sql, statements[0], "multiple_statements")
    return _parsed(sql, statements[0])


def parse_sql(sql: object, *, max_chars: int = DEFAULT_MAX_CHARS) -> Parsed:
    """Parse one SQLite statement, refusing text that is too long or too deep; never raises.

    Args:
        sql: the statement (anything else gives ``error="not_text"``).
        max_chars: longer text gives ``error="too_long"`` without being parsed.

    Returns:
        A :class:`Parsed`; cached per ``(sql, max_chars)`` within a byte budget.

    >>> parse_sql("SELECT " + "abs(" * 900 + "1" + ")" * 900).error
    'too_deep: parentheses nested deeper than 32'
    """
    if not isinstance(sql, str):
        return Parsed("", None, "not_text")
    if len(sql) > max_chars:
        return Parsed(sql, None, "too_long")
    if not sql.strip():
        return Parsed(sql, None, "empty")
    return _parse(sql, max_chars)


def parse_script(text: str, *, max_chars: int = 1_000_000) -> tuple[list[exp.Expression], str | None]:
    """Parse several statements (a schema's CREATE TABLE text) behind the same guard; uncached, never raises.

    Args:
        text: one or more statements.
        max_chars: longer text is refused as ``"too_long"``.

    Returns:
        ``(statements, None)``, or ``([], reason)`` when the text is refused or does not parse.

    >>> parse_script("CREATE TABLE a (x INT); CREATE TABLE b (y TEXT)")[0][1].sql()
    'CREATE TABLE b (y TEXT)'
    """
    refused = check_sql(text, max_chars=max_chars)
    if refused is not None:
        return [], refused
    try:
        with _quiet():
            return [s for s in _parse_statements(text) if s is not None], None
    except RecursionError:
        return [], "too_deep: recursion limit"
    except Exception as exc:  # ParseError, TokenError, a sqlglot bug
        first = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return [], f"parse_error: {first}"
