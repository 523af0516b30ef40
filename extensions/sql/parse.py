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
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

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
    sql: str
    expression: exp.Expression | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.expression is not None and self.error is None

    @property
    def is_query(self) -> bool:
        """A read-only query (SELECT, set operation, VALUES, WITH ... SELECT)."""
        e = self.expression
        return e is not None and isinstance(e, (exp.Query, exp.Values)) and not e.find(*WRITE_TYPES)

    @property
    def is_write(self) -> bool:
        e = self.expression
        return e is not None and (isinstance(e, WRITE_TYPES) or e.find(*WRITE_TYPES) is not None)


@functools.lru_cache(maxsize=8192)
def _parse(sql: str, max_chars: int) -> Parsed:
    if len(sql) > max_chars:
        return Parsed(sql, None, "too_long")
    try:
        statements = [s for s in sqlglot.parse(sql, read="sqlite") if s is not None]
    except TokenError as exc:
        return Parsed(sql, None, f"token_error: {str(exc)[:120]}")
    except ParseError as exc:
        return Parsed(sql, None, f"parse_error: {str(exc).splitlines()[0][:120] if str(exc) else ''}")
    except RecursionError:
        return Parsed(sql, None, "too_deep")
    except Exception as exc:  # sqlglot bug on odd input: treat as unparseable
        return Parsed(sql, None, f"parse_error: {type(exc).__name__}")
    if not statements:
        return Parsed(sql, None, "empty")
    if len(statements) > 1:
        return Parsed(sql, statements[0], "multiple_statements")
    return Parsed(sql, statements[0])


def parse_sql(sql: object, *, max_chars: int = DEFAULT_MAX_CHARS) -> Parsed:
    """Parse one SQLite statement; the result is cached per (sql, max_chars)."""
    if not isinstance(sql, str):
        return Parsed("", None, "not_text")
    if not sql.strip():
        return Parsed(sql, None, "empty")
    return _parse(sql, max_chars)
