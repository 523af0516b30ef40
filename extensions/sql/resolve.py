"""Resolve table and column names against a schema with sqlglot scopes.

Finds names a query uses that the database does not have ("hallucinations"):

* tables in FROM/JOIN that are neither in the schema nor a CTE (``SELECT *``
  from an unknown table counts: sqlglot's ``qualify`` alone does not catch it);
* qualified columns ``x.c`` whose source ``x`` is a schema table without ``c``,
  or a derived table/CTE that does not output ``c``, or whose qualifier names
  no source in scope (outer scopes included, for correlated subqueries);
* unqualified columns that no source in scope (nor an outer scope, nor a
  SELECT alias, which SQLite accepts in WHERE/GROUP BY/HAVING/ORDER BY) has.

Unqualified columns found in several sources of the same scope are reported
as *ambiguous*, separately. Everything is case-insensitive, quoted or not.
An unresolvable double-quoted identifier is a string literal to SQLite
(``WHERE name = "France"``) and is not counted; ``[x]`` and `` `x` `` are
always identifiers to SQLite, so an unknown one is counted. A CTE's or derived
table's column list (``WITH RECURSIVE c(x) AS (...)``) defines its columns.

>>> from extensions.sql.schema import Schema
>>> s = Schema.coerce({'tables': {'employees': {'columns': ['id', 'name', 'salary', 'department']}}})
>>> resolve_names("SELECT name FROM customers", s).unknown_tables
('customers',)
>>> resolve_names("SELECT e.nme FROM Employees AS e", s).unknown_columns
('e.nme',)
>>> resolve_names("SELECT Name FROM EMPLOYEES WHERE salary > 10", s).count
0
>>> resolve_names('SELECT `nme`, [dept], "France" FROM employees', s).unknown_columns
('nme', 'dept')
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from extensions._util.log import log_once
from extensions.sql.memo import memoize, text_bytes
from extensions.sql.parse import parse_sql
from extensions.sql.schema import Schema

log = logging.getLogger(__name__)

_ROWID = frozenset({"rowid", "oid", "_rowid_"})


@dataclass(frozen=True)
class Resolution:
    unknown_tables: tuple[str, ...] = ()
    unknown_columns: tuple[str, ...] = ()
    ambiguous_columns: tuple[str, ...] = ()
    error: str | None = None  # the SQL could not be parsed/analysed

    @property
    def count(self) -> int:
        """Number of hallucinated names (unknown tables + unknown columns)."""
        return len(self.unknown_tables) + len(self.unknown_columns)

    @property
    def hallucinated(self) -> tuple[str, ...]:
        return self.unknown_tables + self.unknown_columns


def _alias_columns(e: exp.Expression) -> frozenset[str] | None:
    """The column list that names a CTE's or derived table's output (``WITH c(x, y) AS (...)``), if any.

    ``e`` may be a set operation's first SELECT: a recursive CTE's own name, inside its recursive part,
    is the scope of that SELECT.
    """
    parent = e.parent
    while isinstance(parent, exp.SetOperation) and parent.this is e:
        e, parent = parent, parent.parent
    if isinstance(parent, (exp.CTE, exp.Subquery)):
        alias = parent.args.get("alias")
        if alias is not None and alias.columns:
            return frozenset(c.name.lower() for c in alias.columns)
    return None


def _source_columns(source: object, schema: Schema) -> frozenset[str] | None:
    """Output column names of a source, lowercased; None when unknown (``*``, functions)."""
    if isinstance(source, exp.Table):
        if not schema.has_table(source.name):
            return None
        return schema.column_set(source.name) | _ROWID
    if isinstance(source, Scope):
        e = source.expression
        listed = _alias_columns(e)  # a column list defines the names, whatever the body selects
        if listed is not None:
            return listed
        while isinstance(e, exp.SetOperation):  # a set operation's names are its first SELECT's
            e = e.left
        if not isinstance(e, exp.Select):
            return None
        if any(
            isinstance(s, exp.Star) or (isinstance(s, exp.Column) and isinstance(s.this, exp.Star))
            for s in e.expressions
        ):
            return None
        return frozenset(n.lower() for n in e.named_selects)
    return None


def _owner(node: exp.Expression) -> exp.Expression | None:
    """The innermost SELECT that contains ``node``."""
    p = node.parent
    while p is not None and not isinstance(p, exp.Select):
        p = p.parent
    return p


def _in_group_or_order(node: exp.Expression, select: exp.Expression) -> bool:
    p = node.parent
    while p is not None and p is not select:
        if isinstance(p, (exp.Group, exp.Order)) and p.parent is select:
            return True
        p = p.parent
    return False


def _select_aliases(scope: Scope) -> frozenset[str]:
    e = scope.expression
    if not isinstance(e, exp.Select):
        return frozenset()
    return frozenset(a.alias.lower() for a in e.expressions if isinstance(a, exp.Alias))


def _visible_sources(scope: Scope) -> list[dict[str, object]]:
    """Selected sources of this scope, then of each enclosing scope (correlation)."""
    chain = []
    s: Scope | None = scope
    while s is not None:
        chain.append({k.lower(): v for k, (_, v) in _selected(s).items()})
        s = s.parent
    return chain


def _selected(scope: Scope) -> dict[str, tuple[object, object]]:
    try:
        return {k: (n, v) for k, (n, v) in scope.selected_sources.items()}
    except Exception:  # pragma: no cover - defensive against sqlglot internals
        return {}


class _Findings:
    """Names found so far, in order of first appearance."""

    def __init__(self) -> None:
        self.tables: list[str] = []
        self.columns: list[str] = []
        self.ambiguous: list[str] = []

    def resolution(self) -> Resolution:
        return Resolution(tuple(self.tables), tuple(dict.fromkeys(self.columns)), tuple(dict.fromkeys(self.ambiguous)))


def _check_tables(own: dict[str, object], schema: Schema, cte_names: set[str], found: _Findings) -> bool:
    """Record unknown tables among a scope's own sources; True when some source's columns are unknowable."""
    unknowable = False
    for source in own.values():
        if isinstance(source, exp.Table):
            name = source.name
            if not name or (source.args.get("db") and source.text("db").lower() not in ("main", "")):
                continue
            if name.lower() in cte_names or schema.has_table(name):
                continue
            unknowable = True
            if name.lower() not in [t.lower() for t in found.tables]:
                found.tables.append(name)
        elif not isinstance(source, Scope):
            unknowable = True  # table function etc.: unknowable columns
    return unknowable


def _check_qualified(col: exp.Column, levels: list[dict[str, object]], schema: Schema, found: _Findings) -> None:
    """``x.c``: unknown when no source ``x`` is visible or ``x`` has no column ``c``."""
    qualifier = col.table.lower()
    source = next((level[qualifier] for level in levels if qualifier in level), None)
    if source is None:  # x.c where x is a real table not in FROM is an error in SQLite too
        found.columns.append(f"{col.table}.{col.name}")
        return
    cols = _source_columns(source, schema)
    if cols is not None and col.name.lower() not in cols:
        found.columns.append(f"{col.table}.{col.name}")


def _check_unqualified(
    col: exp.Column,
    levels: list[dict[str, object]],
    schema: Schema,
    unknowable: bool,
    aliases: frozenset[str],
    found: _Findings,
    sql: str,
) -> None:
    """``c``: the innermost scope that has it wins; several sources of the own scope make it ambiguous."""
    cname = col.name.lower()
    for depth, level in enumerate(levels):
        hits = 0
        for src in level.values():
            cols = _source_columns(src, schema)
            if cols is None:
                unknowable = True
            elif cname in cols:
                hits += 1
        if hits:
            if hits > 1 and depth == 0 and cname not in _ROWID:
                found.ambiguous.append(col.name)
            return
    if unknowable or cname in aliases or _double_quoted(col.this, sql):
        return  # SQLite reads an unresolvable "x" as the string 'x'
    found.columns.append(col.name)


def _double_quoted(identifier: exp.Expression, sql: str) -> bool:
    """Whether ``identifier`` was written in double quotes, the only quoting SQLite may read as a string.

    ``[x]`` and `` `x` `` are always identifiers. An identifier whose position sqlglot did not record
    counts as double-quoted when quoted at all (no penalty rather than a false one).
    """
    if not identifier.args.get("quoted"):
        return False
    start = identifier.meta.get("start")
    return not isinstance(start, int) or not 0 <= start < len(sql) or sql[start] == '"'


def _check_scope(scope: Scope, schema: Schema, cte_names: set[str], found: _Findings, sql: str) -> None:
    """Check the tables and the columns that one scope owns."""
    chain = _visible_sources(scope)
    unknowable = _check_tables(chain[0] if chain else {}, schema, cte_names, found)
    aliases = _select_aliases(scope)
    select = scope.expression
    if not isinstance(select, exp.Select):
        return
    for col in select.find_all(exp.Column):
        if _owner(col) is not select or isinstance(col.this, exp.Star):
            continue
        # SQLite resolves GROUP BY and ORDER BY terms locally: never against an outer query.
        levels = chain[:1] if _in_group_or_order(col, select) else chain
        if col.table:
            _check_qualified(col, levels, schema, found)
        else:
            _check_unqualified(col, levels, schema, unknowable, aliases, found, sql)


@memoize(8192, 16 * 2**20, value_bytes=lambda r: text_bytes(*r.hallucinated, *r.ambiguous_columns))
def _resolve(sql: str, schema: Schema) -> Resolution:
    parsed = parse_sql(sql)
    if parsed.expression is None:  # several statements: the first one is still analysed
        return Resolution(error=parsed.error or "parse_error")
    expression = parsed.expression
    try:
        scopes = list(traverse_scope(expression))
    except RecursionError:
        return Resolution(error="too_deep: recursion limit")
    except Exception as exc:  # sqlglot cannot scope it (odd syntax)
        log_once(
            log,
            f"scope:{type(exc).__name__}",
            "sqlglot could not build scopes (%r); no schema penalty for this SQL",
            exc,
        )
        return Resolution(error=f"scope_error: {type(exc).__name__}")
    cte_names = {c.alias_or_name.lower() for c in expression.find_all(exp.CTE)}
    found = _Findings()
    for scope in scopes:
        _check_scope(scope, schema, cte_names, found, sql)
    return found.resolution()


def resolve_names(sql: str, schema: Schema) -> Resolution:
    """Unknown and ambiguous names in ``sql`` against ``schema``; cached, never raises.

    Args:
        sql: one query.
        schema: the database's schema.

    Returns:
        A :class:`Resolution`; ``error`` says why nothing could be checked (``too_deep...``, ``parse_error...``).

    >>> resolve_names("SELECT x FROM t", Schema.coerce({"t": ["a"]})).unknown_columns
    ('x',)
    """
    if not isinstance(sql, str) or not schema:
        return Resolution(error="no_sql" if not isinstance(sql, str) else "no_schema")
    try:
        return _resolve(sql, schema)
    except RecursionError:
        return Resolution(error="too_deep: recursion limit")
    except Exception as exc:  # a sqlglot corner case: no penalty, reason reported, logged once
        log_once(
            log, f"resolve:{type(exc).__name__}", "name resolution failed (%r); no schema penalty for this SQL", exc
        )
        return Resolution(error=f"resolve_error: {type(exc).__name__}")
