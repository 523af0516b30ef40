"""A database with FTS5 and R*Tree virtual tables: its schema is still read, and SQL against them gets a status."""

from __future__ import annotations

import sqlite3

import pytest

from extensions.config import RewardConfig
from extensions.data.checks import database_problem
from extensions.execution.introspect import declared_columns, load_schema, sample_values
from extensions.rewards.combine import RewardComputer
from extensions.sql.resolve import resolve_names


def _has_module(module: str, args: str) -> bool:
    try:
        sqlite3.connect(":memory:").execute(f"CREATE VIRTUAL TABLE t USING {module}({args})")
        return True
    except sqlite3.OperationalError:
        return False


pytestmark = pytest.mark.skipif(
    not (_has_module("fts5", "a") and _has_module("rtree", "id, x0, x1")), reason="this sqlite3 lacks FTS5 or R*Tree"
)


@pytest.fixture()
def db(tmp_path) -> str:
    path = str(tmp_path / "docs.sqlite")
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT);
        CREATE VIRTUAL TABLE docs USING fts5(title, body UNINDEXED, tokenize = 'porter');
        CREATE VIRTUAL TABLE boxes USING rtree(id, "min x", max_x, +label);
        CREATE TABLE papers (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES authors(id), year INT);
        CREATE VIEW recent AS SELECT id FROM papers WHERE year > 2020;
        INSERT INTO authors VALUES (1, 'Ada'), (2, 'Alan');
        INSERT INTO papers VALUES (1, 1, 2021), (2, 2, 2019);
        INSERT INTO docs VALUES ('sql', 'rewards');
        INSERT INTO boxes VALUES (1, 0, 1, 'a');
    """)
    conn.commit()
    conn.close()
    return path


def test_schema_of_a_file_with_virtual_tables(db):
    schema = load_schema(db)
    assert [t.name for t in schema.tables] == ["authors", "docs", "boxes", "papers", "recent"]  # no shadow tables
    assert schema.columns("docs") == ("title", "body")
    assert schema.columns("boxes") == ("id", "min x", "max_x", "label")
    assert schema.columns("papers") == ("id", "author_id", "year")
    assert database_problem(db) is None
    assert sample_values(db)[("authors", "name")] == ("Ada", "Alan")


def test_hallucinations_on_the_ordinary_tables_are_still_found(db):
    schema = load_schema(db)
    assert resolve_names("SELECT nme FROM authors", schema).unknown_columns == ("nme",)
    assert resolve_names("SELECT title FROM docs", schema).count == 0


def test_sql_against_virtual_tables_gets_a_defined_status(db, engine):
    rc = RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic", schema_weight=-0.1), engine=engine)
    gold = {"sql": "SELECT name FROM authors ORDER BY id", "db_path": db}
    ok = rc.compute_reward("```sql\nSELECT name FROM authors ORDER BY id\n```", gold)
    assert ok.details["status"] == "ok" and ok.breakdown["correct"] == 1.0
    wrong = rc.compute_reward("```sql\nSELECT nme FROM authors\n```", gold)
    assert wrong.details["schema"]["unknown_columns"] == ["nme"] and wrong.breakdown["schema"] == pytest.approx(-0.1)
    for sql in ("SELECT * FROM docs WHERE docs MATCH 'sql'", "SELECT label FROM boxes", "SELECT * FROM docs_content"):
        r = rc.compute_reward(f"```sql\n{sql}\n```", gold)
        assert (
            r.details["status"] in ("ok", "syntax_error", "schema_error", "forbidden") and r.breakdown["correct"] == 0.0
        )


VIRTUAL_READS = [
    ("SELECT count(*) FROM docs", ((1,),)),
    ("SELECT title FROM docs WHERE docs MATCH 'sql'", (("sql",),)),
    ("SELECT highlight(docs, 0, '[', ']') FROM docs WHERE docs MATCH 'sql'", (("[sql]",),)),
    ("SELECT typeof(bm25(docs)) FROM docs WHERE docs MATCH 'sql'", (("real",),)),
    ('SELECT id, "min x", max_x, label FROM boxes WHERE max_x > 0.5', ((1, 0.0, 1.0, "a"),)),
    ("SELECT count(*) FROM boxes", ((1,),)),
]


@pytest.mark.parametrize("inline_budget_ms", [10.0, 0.0])
@pytest.mark.parametrize("sql,rows", VIRTUAL_READS)
def test_fts5_and_rtree_tables_are_read_on_both_paths(db, sql, rows, inline_budget_ms):
    """Virtual tables are connected when the file opens, so their modules' own reads never meet the authorizer."""
    from extensions.execution.engine import ExecutionEngine

    with ExecutionEngine(workers=1, inline_budget_ms=inline_budget_ms) as eng:
        r = eng.execute(db, sql)
        assert (r.status.value, r.rows) == ("ok", rows), r.detail
        m = eng.match(db, sql, sql)  # as a gold: a real verdict, not gold_error
        assert (m.status.value, m.match) == ("ok", True)


def test_a_virtual_table_whose_module_is_missing_is_forbidden_not_a_syntax_error(tmp_path, engine):
    path = str(tmp_path / "odd.sqlite")
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE t (x INT); INSERT INTO t VALUES (1); PRAGMA writable_schema = ON;")
    conn.execute(
        "INSERT INTO sqlite_master VALUES ('table', 'odd', 'odd', 0, 'CREATE VIRTUAL TABLE odd USING nosuchmodule(a)')"
    )
    conn.commit()
    conn.close()
    r = engine.execute(path, "SELECT a FROM odd")
    assert r.status.value == "forbidden" and "nosuchmodule" in r.detail
    assert engine.execute(path, "SELECT x FROM t").rows == ((1,),)
    m = engine.match(path, "SELECT 1", "SELECT a FROM odd")
    assert m.status.value == "gold_error"  # a gold that cannot be read: a neutral sample


@pytest.mark.parametrize(
    "sql,columns",
    [
        ("CREATE VIRTUAL TABLE t USING fts4(a TEXT, b, notindexed=b)", ["a", "b"]),
        ("CREATE VIRTUAL TABLE t USING fts5(\"x, y\", [z], `w`, content='', prefix='2 3')", ["x, y", "z", "w"]),
        ("CREATE VIRTUAL TABLE t USING rtree_i32(id, a, b)", ["id", "a", "b"]),
        ("CREATE VIRTUAL TABLE t USING dbstat", []),
    ],
)
def test_declared_columns(sql, columns):
    assert declared_columns(sql) == columns
