"""Database schemas from any of the forms users have at hand.

:meth:`Schema.coerce` accepts

* the dict of the original SQL-R1 extension's API: ``{'tables': {'employees': {'columns': ['id', 'name']}}}``
  (also ``{'employees': ['id', 'name']}`` and ``{'employees': {'columns': ...}}``);
* a Spider ``tables.json`` entry (``table_names_original``/``column_names_original``);
* CREATE TABLE text (parsed with sqlglot, SQLite dialect, behind the depth guard);
* a :class:`Schema`.

This module never reads a database: a path to a SQLite file becomes a schema
through :func:`extensions.execution.introspect.load_schema`, which accepts all
of the above as well.

Names are matched case-insensitively, as SQLite does.

>>> s = Schema.coerce({'tables': {'Employees': {'columns': ['id', 'Name']}}})
>>> s.has_table('employees'), s.has_column('EMPLOYEES', 'name')
(True, True)
>>> Schema.coerce("CREATE TABLE t (a INT, b TEXT);").columns('t')
('a', 'b')
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from extensions.errors import SchemaLoadError


@dataclass(frozen=True)
class Column:
    name: str
    type: str = ""
    primary_key: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    foreign_keys: tuple[tuple[str, str, str], ...] = ()  # (column, ref_table, ref_column)


@dataclass(frozen=True)
class Schema:
    tables: tuple[Table, ...]
    _index: dict[str, Table] = field(default_factory=dict, compare=False, repr=False, hash=False)
    _cols: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, repr=False, hash=False)
    _hash: int = field(default=0, init=False, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        self._index.clear()
        self._cols.clear()
        for t in self.tables:
            self._index[t.name.lower()] = t
            self._cols[t.name.lower()] = frozenset(c.name.lower() for c in t.columns)
        object.__setattr__(self, "_hash", hash(self.tables))

    def __hash__(self) -> int:
        """The hash of ``tables``, computed once: a schema keys the resolution caches on every lookup."""
        return self._hash

    def __reduce__(self) -> tuple[type, tuple]:
        """Pickled as its tables alone: the index and the hash are rebuilt in the receiving process."""
        return (type(self), (self.tables,))

    # -- queries ---------------------------------------------------------------------
    def table(self, name: str) -> Table | None:
        return self._index.get(name.lower())

    def has_table(self, name: str) -> bool:
        return name.lower() in self._index

    def columns(self, table: str) -> tuple[str, ...]:
        t = self.table(table)
        return tuple(c.name for c in t.columns) if t else ()

    def column_set(self, table: str) -> frozenset[str]:
        return self._cols.get(table.lower(), frozenset())

    def has_column(self, table: str, column: str) -> bool:
        return column.lower() in self.column_set(table)

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables)

    def __bool__(self) -> bool:
        return bool(self.tables)

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def coerce(cls, obj: Any) -> "Schema":
        """Build a schema from any supported form (never from a database file: see the module docstring).

        Args:
            obj: a Schema, a dict, a Spider ``tables.json`` entry, CREATE TABLE text, or None (empty schema).

        Returns:
            The schema.

        Raises:
            SchemaLoadError: ``obj`` is none of these.

        >>> Schema.coerce({"t": ["a"]}).columns("t")
        ('a',)
        """
        if isinstance(obj, Schema):
            return obj
        if obj is None:
            return cls(())
        if isinstance(obj, dict):
            if "table_names_original" in obj or "table_names" in obj:
                return cls.from_spider_entry(obj)
            return cls.from_dict(obj)
        if isinstance(obj, (str, os.PathLike)):
            text = os.fspath(obj)
            if "create table" in text.lower():
                return cls.from_create_table(text)
            raise SchemaLoadError(
                f"not a schema: no CREATE TABLE text in {text[:80]!r} "
                "(database files are read by extensions.execution.introspect.load_schema)"
            )
        raise SchemaLoadError(f"cannot build a schema from {type(obj).__name__}")

    @classmethod
    def from_dict(cls, d: dict) -> "Schema":
        """The dict forms: ``{'tables': {t: {'columns': [...]}}}``, ``{t: [...]}``, ``{t: {'columns': [...]}}``.

        Args:
            d: the dict; a column is a name, ``{'name', 'type'}`` or ``[name, type]``.

        Returns:
            The schema.

        Raises:
            SchemaLoadError: a table spec is neither a list nor a dict.

        >>> Schema.from_dict({"t": [["a", "INT"]]}).table("t").columns[0].type
        'INT'
        """
        tables = d.get("tables", d) if isinstance(d.get("tables", None), dict) else d
        out = []
        for name, spec in tables.items():
            if isinstance(spec, dict):
                cols = spec.get("columns", [])
            elif isinstance(spec, (list, tuple)):
                cols = spec
            else:
                raise SchemaLoadError(f"table {name!r}: expected a list of columns or {{'columns': [...]}}")
            columns = []
            for c in cols:
                if isinstance(c, dict):
                    columns.append(Column(str(c.get("name")), str(c.get("type", ""))))
                elif isinstance(c, (list, tuple)) and c:
                    columns.append(Column(str(c[0]), str(c[1]) if len(c) > 1 else ""))
                else:
                    columns.append(Column(str(c)))
            out.append(Table(str(name), tuple(columns)))
        return cls(tuple(out))

    @classmethod
    def from_spider_entry(cls, entry: dict) -> "Schema":
        """A Spider ``tables.json`` entry (original names preferred), with primary and foreign keys.

        Args:
            entry: the entry.

        Returns:
            The schema.

        >>> entry = {"table_names_original": ["t"], "column_names_original": [[-1, "*"], [0, "a"]]}
        >>> Schema.from_spider_entry(entry).columns("t")
        ('a',)
        """
        names = entry.get("table_names_original") or entry.get("table_names") or []
        cols = entry.get("column_names_original") or entry.get("column_names") or []
        types = entry.get("column_types") or []
        pks = set(entry.get("primary_keys") or [])
        per: list[list[Column]] = [[] for _ in names]
        index: list[tuple[int, str]] = []
        for i, (tidx, cname) in enumerate(cols):
            if tidx is None or tidx < 0:
                index.append((-1, cname))
                continue
            per[tidx].append(Column(cname, types[i] if i < len(types) else "", i in pks))
            index.append((tidx, cname))
        fks: list[list[tuple[str, str, str]]] = [[] for _ in names]
        for a, b in entry.get("foreign_keys") or []:
            ta, ca = index[a]
            tb, cb = index[b]
            if ta >= 0 and tb >= 0:
                fks[ta].append((ca, names[tb], cb))
        return cls(tuple(Table(n, tuple(per[i]), tuple(fks[i])) for i, n in enumerate(names)))

    @classmethod
    def from_create_table(cls, text: str) -> "Schema":
        """Tables, columns, types, primary and foreign keys of CREATE TABLE statements.

        Args:
            text: one or more statements; the text passes the same depth guard as model SQL.

        Returns:
            The schema.

        Raises:
            SchemaLoadError: the text is refused, does not parse, or has no CREATE TABLE.

        >>> Schema.from_create_table('CREATE TABLE "a b" ("x y" INT)').columns("A B")
        ('x y',)
        """
        from sqlglot import exp

        from extensions.sql.parse import parse_script

        statements, error = parse_script(text)
        if error is not None:
            raise SchemaLoadError(f"cannot parse CREATE TABLE text: {error}")
        tables = []
        for st in statements:
            if not isinstance(st, exp.Create) or st.kind != "TABLE":
                continue
            schema_node = st.this
            if not isinstance(schema_node, exp.Schema):
                continue
            tname = schema_node.this.name
            cols, fks = [], []
            for item in schema_node.expressions:
                if isinstance(item, exp.ColumnDef):
                    kind = item.args.get("kind")
                    pk = any(isinstance(c.args.get("kind"), exp.PrimaryKeyColumnConstraint) for c in item.constraints)
                    cols.append(Column(item.name, kind.sql("sqlite") if kind else "", pk))
                elif isinstance(item, exp.ForeignKey):
                    ref = item.args.get("reference")
                    if ref is not None and isinstance(ref.this, exp.Schema):
                        for a, b in zip(item.expressions, ref.this.expressions):
                            fks.append((a.name, ref.this.this.name, b.name))
            tables.append(Table(tname, tuple(cols), tuple(fks)))
        if not tables:
            raise SchemaLoadError("no CREATE TABLE statement found")
        return cls(tuple(tables))

    # -- exports ---------------------------------------------------------------------
    def to_spider_entry(self, db_id: str) -> dict:
        """This schema as a Spider ``tables.json`` entry.

        Args:
            db_id: the entry's ``db_id``.

        Returns:
            The entry (a JSON-ready dict).

        >>> Schema.coerce({"t": ["a"]}).to_spider_entry("x")["column_names_original"]
        [[-1, '*'], [0, 'a']]
        """
        col_names = [[-1, "*"]]
        col_types = ["text"]
        pks = []
        for ti, t in enumerate(self.tables):
            for c in t.columns:
                if c.primary_key:
                    pks.append(len(col_names))
                col_names.append([ti, c.name])
                col_types.append(_spider_type(c.type))
        lookup = {(self.tables[t].name.lower(), n.lower()): i for i, (t, n) in enumerate(col_names) if t >= 0}
        fks = []
        for t in self.tables:
            for c, rt, rc in t.foreign_keys:
                a, b = lookup.get((t.name.lower(), c.lower())), lookup.get((rt.lower(), rc.lower()))
                if a is not None and b is not None:
                    fks.append([a, b])
        return {
            "db_id": db_id,
            "table_names_original": [t.name for t in self.tables],
            "table_names": [t.name.replace("_", " ").lower() for t in self.tables],
            "column_names_original": col_names,
            "column_names": [[t, n.replace("_", " ").lower()] for t, n in col_names],
            "column_types": col_types,
            "primary_keys": pks,
            "foreign_keys": fks,
        }


def _spider_type(t: str) -> str:
    t = t.lower()
    if any(k in t for k in ("int", "real", "num", "float", "double", "dec")):
        return "number"
    if "date" in t or "time" in t:
        return "time"
    return "text"
