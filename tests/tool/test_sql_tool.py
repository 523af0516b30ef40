"""The execute_sql tool: answers, limits, budget, thread and async safety, and docs/safety.md for it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import threading

import pytest

from extensions.defaults.tool import ToolLimits
from extensions.tool.sql_tool import SqlSession, run_query
from extensions.tool.table import render_table
from tests.conftest import FIXTURES

CASES = [json.loads(line) for line in (FIXTURES / "tool_hostile.jsonl").read_text().splitlines()]
LIMITS = ToolLimits(max_calls=1000, max_vm_steps=10_000_000, max_cpu_s=0.5)


@pytest.fixture()
def db(tmp_path, demo_paths):
    folder = tmp_path / "db"
    folder.mkdir()
    path = folder / "hr.sqlite"
    shutil.copy(demo_paths["hr"], path)
    return str(path)


def _snapshot(folder: str) -> dict[str, str]:
    names = sorted(os.listdir(folder))
    return {n: hashlib.sha256(open(os.path.join(folder, n), "rb").read()).hexdigest() for n in names}


def test_a_query_answers_with_columns_and_rows(db, engine):
    a = run_query(db, "SELECT name, salary FROM employees ORDER BY id LIMIT 2", LIMITS, engine)
    lines = a.text.splitlines()
    assert a.ok and a.status == "ok"
    assert lines[0] == "name | salary" and len(lines) == 4 and lines[-1] == "(2 rows)"


def test_many_rows_are_cut_and_the_cut_is_stated(db, engine):
    a = run_query(db, "SELECT * FROM employees", ToolLimits(max_rows=3), engine)
    assert a.ok and a.text.splitlines()[-1] == "(60 rows; first 3 shown)" and len(a.text.splitlines()) == 5


def test_long_cells_and_long_answers_are_capped():
    text = render_table(("c",), [("é" * 500,)] * 50, max_rows=50, max_cell_chars=12, max_chars=300)
    assert len(text) <= 300 and all(len(line) <= 12 for line in text.splitlines()[1:-1])
    assert text.splitlines()[-1].startswith("(50 rows; first ")


def test_answers_are_deterministic(db, engine):
    q = "SELECT title, count(*) FROM employees GROUP BY title ORDER BY title"
    assert run_query(db, q, LIMITS, engine) == run_query(db, q, LIMITS, engine)


@pytest.mark.parametrize("case", CASES, ids=[c["note"] for c in CASES])
def test_safety_holds_for_the_tool(case, db, engine, tmp_path, monkeypatch):
    """docs/safety.md through the tool: no exception, a defined answer, the database unchanged, no file created."""
    monkeypatch.chdir(tmp_path)
    before, cwd_before = _snapshot(os.path.dirname(db)), sorted(os.listdir(tmp_path))
    a = run_query(db, case["query"], LIMITS, engine)
    assert isinstance(a.text, str) and len(a.text) <= LIMITS.max_chars
    assert all(ch.isprintable() or ch == "\n" for ch in a.text)
    if case["expect"] != "any":  # the limit is a work budget: the same status quiet or loaded
        assert a.status == case["expect"], a.text
    if not a.ok:
        assert a.text.startswith("error: ") and "\n" not in a.text
    assert _snapshot(os.path.dirname(db)) == before
    assert sorted(os.listdir(tmp_path)) == cwd_before


def test_an_error_tells_what_went_wrong(db, engine):
    text = run_query(db, "SELECT nme FROM employees", LIMITS, engine).text
    assert text == "error: schema error (no such column: nme)"
    slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    assert run_query(db, slow, LIMITS, engine).text.startswith(
        "error: stopped at the tool's work budget of 10000000 VM steps"
    )


def test_budget_is_per_episode(db, engine):
    s = SqlSession(db, ToolLimits(max_calls=2), engine)
    answers = [s.execute_sql("SELECT 1") for _ in range(3)]
    assert answers[2].startswith("error: call budget spent (2 of 2 calls)")
    assert s.metrics() == {"tool_calls": 2.0, "tool_errors": 0.0, "tool_budget_spent": 1.0}
    assert SqlSession(db, ToolLimits(max_calls=2), engine).execute_sql("SELECT 1").endswith("(1 row)")


def test_budget_holds_across_threads(db, engine):
    s = SqlSession(db, ToolLimits(max_calls=5), engine)
    out: list[str] = []
    threads = [threading.Thread(target=lambda i=i: out.append(s.execute_sql(f"SELECT {i}"))) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert s.calls == 5 and s.refused == 11 and sum(a.startswith("error: call budget") for a in out) == 11


def test_budget_holds_across_coroutines(db, engine):
    s = SqlSession(db, ToolLimits(max_calls=3), engine)

    async def main() -> list[str]:
        return await asyncio.gather(*(s.execute_sql_async(f"SELECT {i}") for i in range(8)))

    out = asyncio.run(main())
    assert sum(a.endswith("(1 row)") for a in out) == 3 and s.calls == 3 and s.errors == 0


def test_a_missing_database_is_an_error_not_a_path(tmp_path, engine):
    a = run_query(str(tmp_path / "nope.sqlite"), "SELECT 1", LIMITS, engine)
    assert a.text == "error: the database is unavailable" and a.status == "db_missing"
