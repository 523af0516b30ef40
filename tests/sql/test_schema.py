import json

import pytest

from extensions.errors import SchemaLoadError
from extensions.sql.schema import Schema


def test_dict_forms():
    for d in ({"tables": {"T": {"columns": ["a", "B"]}}}, {"T": ["a", "B"]}, {"T": {"columns": [{"name": "a"}, ["B", "int"]]}}):
        s = Schema.coerce(d)
        assert s.has_table("t") and s.has_column("T", "b") and not s.has_column("t", "c")


def test_sqlite_file(demo_paths):
    s = Schema.coerce(demo_paths["hr"])
    assert s.table_names == ("departments", "employees")
    assert ("department_id", "departments", "id") in s.table("employees").foreign_keys
    assert Schema.coerce(demo_paths["hr"]) is s  # cached by file signature


def test_create_table_text():
    s = Schema.coerce("CREATE TABLE a (x INT PRIMARY KEY, y TEXT); CREATE TABLE b (z REAL, FOREIGN KEY (z) REFERENCES a(x));")
    assert s.columns("a") == ("x", "y") and s.table("a").columns[0].primary_key
    assert s.table("b").foreign_keys == (("z", "a", "x"),)


def test_spider_roundtrip(demo_paths):
    s = Schema.coerce(demo_paths["store"])
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
