"""Synthesize a small database instance for schema-only datasets.

sql-create-context and WikiSQL-style rows carry CREATE TABLE text but no
data, so an execution reward would compare two empty results. We build one
SQLite file per schema (cached by a hash of the schema and the gold queries
that use it) with typed random rows, and plant the literals that the gold
queries compare against (``col = 'x'``, ``col > 3``, ``LIKE '%x%'``) so that
gold results are non-empty where possible.

>>> import tempfile
>>> p = synthesize_database("CREATE TABLE head (name VARCHAR, age INTEGER)",
...                         ["SELECT name FROM head WHERE age > 56"], tempfile.mkdtemp())
>>> import sqlite3; sqlite3.connect(p).execute("SELECT count(*) FROM head WHERE age > 56").fetchone()[0] > 0
True
"""

from __future__ import annotations

import hashlib
import os
import random
import re
from collections.abc import Iterable

from sqlglot import exp

from extensions.data._atomic import atomic_sqlite
from extensions.sql.parse import parse_sql
from extensions.sql.schema import Schema

WORDS = ["alpha", "Beta", "gamma", "Delta", "omega", "north", "South", "red", "Blue", "green", "Paris", "tokyo", "Lima"]


_SAFE_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_ ]*(\([0-9, ]*\))?")


def quote_identifier(name: str) -> str:
    """``name`` as a SQLite quoted identifier, inner double quotes doubled.

    Args:
        name: a table or column name from a dataset.

    Returns:
        The quoted identifier.

    >>> quote_identifier('na"me')
    '"na""me"'
    """
    return '"' + name.replace('"', '""') + '"'


def _column_type(type_: str) -> str:
    """The declared type if it is a plain type name (``VARCHAR(20)``), else TEXT."""
    return type_ if type_ and _SAFE_TYPE.fullmatch(type_) else "TEXT"


def _kind(type_: str) -> str:
    t = type_.lower()
    if any(k in t for k in ("int",)):
        return "int"
    if any(k in t for k in ("real", "float", "double", "num", "dec")):
        return "real"
    if "date" in t or "time" in t:
        return "date"
    return "text"


def _random_value(kind: str, rng: random.Random) -> object:
    if kind == "int":
        return rng.randrange(0, 100)
    if kind == "real":
        return round(rng.uniform(0, 1000), 2)
    if kind == "date":
        return f"{rng.randrange(1990, 2025)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    return f"{rng.choice(WORDS)} {rng.randrange(100)}"


def _literal_value(lit: exp.Literal, kind: str, op: type) -> object:
    raw = lit.this
    if lit.is_string:
        text = raw.strip("%") if op is exp.Like else raw
        return text
    try:
        num = float(raw)
    except ValueError:
        return raw
    # Make strict comparisons true: > x gets x + 1, < x gets x - 1.
    if op is exp.GT:
        num += 1
    elif op is exp.LT:
        num -= 1
    return int(num) if kind == "int" or num.is_integer() else num


def _plants(golds: Iterable[str], schema: Schema) -> dict[tuple[str, str], list[object]]:
    """``{(table, column): [values]}`` from comparisons between a column and a literal."""
    out: dict[tuple[str, str], list[object]] = {}
    default_table = schema.tables[0].name.lower() if len(schema.tables) == 1 else None
    for g in golds:
        parsed = parse_sql(g)
        if not parsed.ok or parsed.expression is None:
            continue
        aliases = {}
        for t in parsed.expression.find_all(exp.Table):
            aliases[(t.alias_or_name or t.name).lower()] = t.name.lower()
        for cmp in parsed.expression.find_all(exp.EQ, exp.GT, exp.LT, exp.GTE, exp.LTE, exp.Like, exp.NEQ):
            col, lit = cmp.left, cmp.right
            if isinstance(col, exp.Literal):
                col, lit = lit, col
            if not isinstance(col, exp.Column) or not isinstance(lit, exp.Literal) or isinstance(cmp, exp.NEQ):
                continue
            table = aliases.get(col.table.lower()) if col.table else None
            if table is None:
                candidates = [t.name.lower() for t in schema.tables if schema.has_column(t.name, col.name)]
                table = candidates[0] if candidates else default_table
            if table is None or not schema.has_column(table, col.name):
                continue
            ctype = next((c.type for c in schema.table(table).columns if c.name.lower() == col.name.lower()), "")  # type: ignore[union-attr]
            out.setdefault((table, col.name.lower()), []).append(_literal_value(lit, _kind(ctype), type(cmp)))
    return out


def schema_hash(create_sql: str, golds: Iterable[str] = ()) -> str:
    """A short hash of a schema's CREATE TABLE text and the gold queries that use it.

    Args:
        create_sql: the CREATE TABLE text.
        golds: the gold queries (order and repeats do not matter).

    Returns:
        20 hex digits.

    >>> ddl = "CREATE TABLE t (a INT)"
    >>> schema_hash(ddl, ["SELECT 1", "SELECT 1"]) == schema_hash(ddl, ["SELECT 1"])
    True
    """
    h = hashlib.sha1(create_sql.strip().encode())
    for g in sorted(set(golds)):
        h.update(b"\x00" + g.encode())
    return h.hexdigest()[:20]


def synthesize_database(create_sql: str, golds: Iterable[str], cache_dir: str, *, rows: int = 30, seed: int = 0) -> str:
    """Build (or reuse) the instance for ``create_sql`` and return its path.

    Args:
        create_sql: the CREATE TABLE text (names may hold any character: they are quoted).
        golds: gold queries whose compared literals are planted into the rows.
        cache_dir: where instances are kept, one file per :func:`schema_hash`.
        rows: rows per table.
        seed: the random seed.

    Returns:
        The path of the SQLite file.

    Raises:
        SchemaLoadError: the CREATE TABLE text is refused by the guard, does not parse, or has no table.

    (An example is in the module docstring.)
    """
    golds = list(golds)
    path = os.path.join(cache_dir, f"{schema_hash(create_sql, golds)}.sqlite")
    if os.path.exists(path):
        return path
    schema = Schema.from_create_table(create_sql)
    plants = _plants(golds, schema)
    rng = random.Random(f"{seed}:{create_sql}")
    with atomic_sqlite(path) as conn:
        for t in schema.tables:
            cols = ", ".join(f"{quote_identifier(c.name)} {_column_type(c.type)}" for c in t.columns)
            conn.execute(f"CREATE TABLE {quote_identifier(t.name)} ({cols})")
            kinds = [_kind(c.type) for c in t.columns]
            for i in range(rows):
                values = [_random_value(k, rng) for k in kinds]
                # Every third row carries the planted literals of its table together,
                # so conjunctions (a = 1 AND b = 'x') also match.
                if i % 3 == 0:
                    for j, c in enumerate(t.columns):
                        vals = plants.get((t.name.lower(), c.name.lower()))
                        if vals:
                            values[j] = vals[(i // 3) % len(vals)]
                ph = ", ".join("?" for _ in values)
                conn.execute(f"INSERT INTO {quote_identifier(t.name)} VALUES ({ph})", values)
    return path
