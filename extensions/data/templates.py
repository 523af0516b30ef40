"""Prompt templates and schema rendering.

The schema is rendered as CREATE TABLE text with a few sample values per
column as comments, as OmniSQL and SQL-R1 do.

>>> print(render_schema(Schema.coerce("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT);"), {("t", "b"): ("x", "y")}))
CREATE TABLE t (
  a INTEGER,
  b TEXT, -- example: ['x', 'y']
  PRIMARY KEY (a)
);
"""

from __future__ import annotations

from extensions.sql.schema import Schema

SQL_R1_SYSTEM = (
    "You are a helpful SQL expert. Given a SQLite database schema and a question, first reason about the "
    "schema and the question inside <think> </think>, then give the final SQL query inside <answer> </answer> "
    "as a ```sql code block. Use exactly one <think> block followed by one <answer> block."
)

SQL_R1_USER = """Database schema:
{schema}

Question: {question}{evidence}

Respond in the format:
<think>your reasoning</think>
<answer>
```sql
-- one SQLite query
```
</answer>"""

OMNISQL_USER = """Task Overview:
You are a data science expert. Below, you are provided with a database schema and a natural language question. Your \
task is to understand the schema and generate a valid SQL query to answer the question.

Database Engine:
SQLite

Database Schema:
{schema}
This schema describes the database's structure, including tables, columns, primary keys, foreign keys, and any \
relevant relationships or constraints.

Question:
{question}{evidence}

Instructions:
- Make sure you only output the information that is asked in the question. If the question asks for a specific column, \
make sure to only include that column in the SELECT clause, nothing more.
- The generated query should return all of the information asked in the question without any missing or extra \
information.
- Before generating the final SQL query, please think through the steps of how to write the query.

Output Format:
In your answer, please enclose the generated SQL query in a code block:
```sql
-- Your SQL query
```

Take a deep breath and think step by step to find the correct SQL query."""


def render_schema(schema: Schema, samples: dict[tuple[str, str], tuple[object, ...]] | None = None) -> str:
    samples = samples or {}
    blocks = []
    for t in schema.tables:
        lines = []
        for c in t.columns:
            line = f"  {c.name} {c.type or 'TEXT'},"
            vals = samples.get((t.name.lower(), c.name.lower()))
            if vals:
                line += " -- example: [" + ", ".join(repr(v) for v in vals) + "]"
            lines.append(line)
        pks = [c.name for c in t.columns if c.primary_key]
        if pks:
            lines.append(f"  PRIMARY KEY ({', '.join(pks)}),")
        for col, rt, rc in t.foreign_keys:
            lines.append(f"  FOREIGN KEY ({col}) REFERENCES {rt} ({rc}),")
        if lines:
            last = lines[-1]
            if " -- example:" in last:
                head, _, tail = last.partition(" -- example:")
                lines[-1] = head.rstrip(",") + " -- example:" + tail
            else:
                lines[-1] = last.rstrip(",")
        blocks.append(f"CREATE TABLE {t.name} (\n" + "\n".join(lines) + "\n);")
    return "\n\n".join(blocks)


COMPACT_SYSTEM = "Answer with <think>...</think><answer>```sql ...```</answer>."


def compact_schema(schema: Schema) -> str:
    """All tables on one line: ``t(a, b, c)``; short prompts for the tiny CPU demo model."""
    return "; ".join(f"{t.name}({', '.join(c.name for c in t.columns)})" for t in schema.tables)


_SHORT_TYPES = {
    "int": ("int", "integer", "bigint", "smallint", "tinyint", "mediumint"),
    "real": ("real", "float", "double"),
    "num": ("numeric", "decimal", "number"),
    "text": ("text", "varchar", "char", "nvarchar", "nchar", "clob", "varchar2"),
    "bool": ("bool", "boolean", "bit"),
}
_SHORT = {word: short for short, words in _SHORT_TYPES.items() for word in words}


def short_type(declared: str) -> str:
    """A column's declared type in one short word: ``int``, ``real``, ``num``, ``text``, ``bool`` or its own name.

    Args:
        declared: the type as declared in CREATE TABLE (``VARCHAR(255)``, ``INTEGER``, empty).

    Returns:
        The short name (``text`` for an empty type).

    >>> short_type("VARCHAR(255)"), short_type("decimal(19,4)"), short_type("DATETIME"), short_type("")
    ('text', 'num', 'datetime', 'text')
    """
    word = declared.split("(")[0].strip().lower().split(" ")[0]
    return _SHORT.get(word, word or "text")


def typed_schema(schema: Schema) -> str:
    """One line per table with column types, primary keys and foreign keys: what a model needs to join.

    Args:
        schema: the database schema.

    Returns:
        ``t(a int pk, b text) fk b->u.id`` lines, one per table.

    >>> ddl = "CREATE TABLE u (id INT PRIMARY KEY); CREATE TABLE t (a INT, b INT, FOREIGN KEY (b) REFERENCES u (id));"
    >>> s = Schema.coerce(ddl)
    >>> print(typed_schema(s))
    u(id int pk)
    t(a int, b int) fk b->u.id
    """
    lines = []
    for t in schema.tables:
        cols = ", ".join(f"{c.name} {short_type(c.type)}" + (" pk" if c.primary_key else "") for c in t.columns)
        fks = ", ".join(f"{col}->{ref_t}.{ref_c}" for col, ref_t, ref_c in t.foreign_keys)
        lines.append(f"{t.name}({cols})" + (f" fk {fks}" if fks else ""))
    return "\n".join(lines)


def build_prompt(style: str, schema_text: str, question: str, evidence: str | None = None) -> list[dict[str, str]]:
    """Chat messages for ``style`` (``sql_r1``, ``omnisql`` or ``compact``)."""
    ev = f"\nEvidence: {evidence}" if evidence else ""
    if style == "compact":
        return [
            {"role": "system", "content": COMPACT_SYSTEM},
            {"role": "user", "content": f"Schema: {schema_text}\nQuestion: {question}{ev}"},
        ]
    if style == "sql_r1":
        return [
            {"role": "system", "content": SQL_R1_SYSTEM},
            {"role": "user", "content": SQL_R1_USER.format(schema=schema_text, question=question, evidence=ev)},
        ]
    if style == "omnisql":
        return [{"role": "user", "content": OMNISQL_USER.format(schema=schema_text, question=question, evidence=ev)}]
    raise ValueError(f"unknown prompt style {style!r}; allowed: sql_r1, omnisql, compact")
