"""Parse SQL once with sqlglot (SQLite dialect) and remember the outcome.

Never raises: ``ParseError``, ``TokenError`` (not a ``ParseError``),
``RecursionError`` (10k nested parentheses) and anything else become a
:class:`Parsed` with ``error`` set. Very long SQL is not parsed at all
(``max_chars``): a 200k-element IN list would take seconds in sqlglot.

The returned expression is shared through the cache: treat it as read-only
(``.copy()`` before transforming).

>>> parse_sql("SELECT a FROM t").ok
True
>>> parse_sql("SELECT 1; SELECT 2").error
'multiple_statements'
>>> parse_sql("SELECT 'unterminated").error.startswith('token_error')
True
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError

from extensions._util.log import log_once

log = logging.getLogger(__name__)

DEFAULT_MAX_CHARS = 20_000
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

    @property
    def ok(self) -> bool:
        return self.expression is not None and self.error is None


def _parsed(sql: str, e: exp.Expression, error: str | None = None) -> Parsed:
    write = isinstance(e, WRITE_TYPES) or e.find(*WRITE_TYPES) is not None
    query = isinstance(e, (exp.Query, exp.Values)) and not write
    return Parsed(sql, e, error, write, query)


_DIALECT = Dialect.get_or_raise("sqlite")
_local = threading.local()


def _parse_statements(sql: str) -> list[exp.Expression | None]:
    """``sqlglot.parse(sql, read="sqlite")`` with a per-thread parser (building one costs ~100 us)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = _DIALECT.parser()
        _local.tokenizer = _DIALECT.tokenizer_class(dialect=_DIALECT)
    return parser.parse(_local.tokenizer.tokenize(sql), sql)


@functools.lru_cache(maxsize=8192)
def _parse(sql: str, max_chars: int) -> Parsed:
    if len(sql) > max_chars:
        return Parsed(sql, None, "too_long")
    try:
        statements = [s for s in _parse_statements(sql) if s is not None]
    except TokenError as exc:
        return Parsed(sql, None, f"token_error: {str(exc)[:120]}")
    except ParseError as exc:
        return Parsed(sql, None, f"parse_error: {str(exc).splitlines()[0][:120] if str(exc) else ''}")
    except RecursionError:
        return Parsed(sql, None, "too_deep")
    except Exception as exc:  # a sqlglot bug on odd input: unparseable, and logged once
        log_once(log, f"parse:{type(exc).__name__}", "sqlglot raised %r while parsing; treated as unparseable", exc)
        return Parsed(sql, None, f"parse_error: {type(exc).__name__}")
    if not statements:
        return Parsed(sql, None, "empty")
    if len(statements) > 1:
        return _parsed(sql, statements[0], "multiple_statements")
    return _parsed(sql, statements[0])


def parse_sql(sql: object, *, max_chars: int = DEFAULT_MAX_CHARS) -> Parsed:
    """Parse one SQLite statement; the result is cached per (sql, max_chars)."""
    if not isinstance(sql, str):
        return Parsed("", None, "not_text")
    if not sql.strip():
        return Parsed(sql, None, "empty")
    return _parse(sql, max_chars)
