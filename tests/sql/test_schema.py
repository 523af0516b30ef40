import ast
import json
import os
import pathlib
import pickle
import subprocess
import sys

import pytest

from extensions.errors import SchemaLoadError
from extensions.execution.introspect import load_schema
from extensions.reward_enhanced import SchemaAwareReward
from extensions.sql.schema import Schema

SQL_PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "extensions" / "sql"


def test_dict_forms():
    for d in (
        {"tables": {"T": {"columns": ["a", "B"]}}},
        {"T": ["a", "B"]},
        {"T": {"columns": [{"name": "a"}, ["B", "int"]]}},
    ):
        s = Schema.coerce(d)
        assert s.has_table("t") and s.has_column("T", "b") and not s.has_column("t", "c")


def test_sqlite_file(demo_paths):
    s = load_schema(demo_paths["hr"])
    assert s.table_names == ("departments", "employees")
    assert ("department_id", "departments", "id") in s.table("employees").foreign_keys
    assert load_schema(demo_paths["hr"]) is s  # cached by file signature


def test_load_schema_accepts_every_form_coerce_accepts():
    d = {"T": ["a", "B"]}
    assert load_schema(d) == Schema.coerce(d)
    assert load_schema("CREATE TABLE t (a INT)").columns("t") == ("a",)
    assert not load_schema(None)
    with pytest.raises(SchemaLoadError):
        load_schema("/no/such/file.sqlite")


def test_schema_aware_reward_still_takes_a_database_path(demo_paths):
    r = SchemaAwareReward(weight=-0.5).compute("SELECT nme FROM employees", demo_paths["hr"])
    assert r.details["unknown_columns"] == ["nme"] and r == -0.5


def test_coerce_never_reads_a_database(demo_paths):
    with pytest.raises(SchemaLoadError, match="load_schema"):
        Schema.coerce(demo_paths["hr"])


def test_sql_package_never_imports_execution():
    for path in SQL_PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.startswith("extensions.execution") for n in names), path.name


def test_create_table_text():
    s = Schema.coerce(
        "CREATE TABLE a (x INT PRIMARY KEY, y TEXT); CREATE TABLE b (z REAL, FOREIGN KEY (z) REFERENCES a(x));"
    )
    assert s.columns("a") == ("x", "y") and s.table("a").columns[0].primary_key
    assert s.table("b").foreign_keys == (("z", "a", "x"),)


def test_spider_roundtrip(demo_paths):
    s = load_schema(demo_paths["store"])
    entry = json.loads(json.dumps(s.to_spider_entry("store")))
    back = Schema.coerce(entry)
    assert back.table_names == s.table_names
    assert all(back.columns(t) == s.columns(t) for t in s.table_names)
    assert entry["foreign_keys"]


def test_errors():
    with pytest.raises(SchemaLoadError):
        Schema.coerce("/no/such/file.sqlite")
    with pytest.raises(SchemaLoadError):
        Schema.coerce(3.5)
    with pytest.raises(SchemaLoadError):
        Schema.coerce({"t": 5})
    assert not Schema.coerce(None)


def test_introspect_docstring_examples():
    import doctest

    from extensions.execution import introspect

    result = doctest.testmod(introspect)
    assert result.attempted > 0 and result.failed == 0


def test_equal_schemas_hash_alike_in_any_process():
    """Equal schemas hash alike (they key the resolution caches), also one pickled under another hash seed."""
    spec = {"Singer": ["id", "name"], "concert": ["id", "singer_id"]}
    a, b = Schema.coerce(spec), Schema.coerce(dict(spec))
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    assert Schema.coerce({"Singer": ["id"]}) != a
    code = (
        "import pickle, sys; from extensions.sql.schema import Schema; "
        "sys.stdout.buffer.write(pickle.dumps(Schema.coerce({spec!r})))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    blob = subprocess.run(
        [sys.executable, "-c", code.format(spec=spec)], env=env, capture_output=True, check=True
    ).stdout
    received = pickle.loads(blob)
    assert received == a and hash(received) == hash(a) and {a: 1}[received] == 1
    assert received.has_column("singer", "NAME") and received.table_names == ("Singer", "concert")
