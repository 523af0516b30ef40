"""The adversarial corpus: every hostile input ends in a defined status, nothing changes on disk,
and legitimate queries afterwards still get the right verdict on the same (reused) connections."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest

from extensions.data.demo import build_database
from extensions.execution.engine import ExecutionEngine
from extensions.execution.status import ALL_STATUSES, Status
from tests.conftest import FIXTURES


def _generate(spec: dict) -> str:
    n = spec["n"]
    kind = spec["gen"]
    if kind == "nested_parens":
        return "SELECT " + "(" * n + "1" + ")" * n
    if kind == "in_list":
        return "SELECT * FROM employees WHERE id IN (" + ",".join(map(str, range(n))) + ")"
    if kind == "compound":
        return " UNION ".join(f"SELECT {i}" for i in range(n))
    if kind == "nested_subqueries":
        return "SELECT * FROM " + "(SELECT * FROM " * n + "employees" + ")" * n
    if kind == "megabyte_ident":
        return "SELECT " + "x" * n
    if kind == "megabyte_comment":
        return "SELECT 1 -- " + "a" * n
    if kind == "case_chain":
        return "SELECT CASE " + " ".join(f"WHEN id = {i} THEN {i}" for i in range(n)) + " END FROM employees"
    raise ValueError(kind)


def _corpus() -> list[tuple[str, list[str], str]]:
    out = []
    for line in (FIXTURES / "hostile_sql.jsonl").read_text().splitlines():
        spec = json.loads(line)
        sql = _generate(spec) if "gen" in spec else spec["sql"]
        out.append((sql, spec["expect"], spec.get("note", "")))
    return out


CORPUS = _corpus()


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 100


def _snapshot(folder: str) -> dict[str, str]:
    out = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as fh:
            out[name] = hashlib.sha256(fh.read()).hexdigest()
    return out


@pytest.fixture(scope="module")
def hr_copy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return build_database(str(folder / "hr.sqlite"), "hr")


@pytest.fixture(scope="module", params=["inline_lane", "workers_only"])
def small_engine(request):
    # A small step budget keeps the runaway cases quick (the wall clock is only a backstop);
    # one worker so every query reuses one connection.
    # Once with the inline lane (the default: connections in this process, then a worker for
    # what it cannot settle) and once with every statement in a worker process.
    inline_ms = 10.0 if request.param == "inline_lane" else 0.0
    eng = ExecutionEngine(
        workers=1,
        timeout_s=2,
        max_vm_steps=2_000_000,
        adaptive_timeout=False,
        grace_s=1.0,
        result_cache_entries=0,
        inline_budget_ms=inline_ms,
        max_result_bytes=8 * 2**20,
    )
    yield eng
    eng.close()


@pytest.mark.slow
def test_hostile_corpus(hr_copy, small_engine):
    folder = os.path.dirname(hr_copy)
    before = _snapshot(folder)
    tmp_before = set(os.listdir("/tmp"))
    legit = "SELECT count(*), sum(salary) FROM employees WHERE name LIKE 'a%'"
    expected = small_engine.execute(hr_copy, legit).rows
    failures = []
    for sql, expect, note in CORPUS:
        r = small_engine.execute(hr_copy, sql)
        assert r.status.value in ALL_STATUSES
        if r.status.value not in expect:
            failures.append((note, sql[:80], r.status.value, r.detail))
        # A legitimate query on the same connection still gives the same answer.
        again = small_engine.execute(hr_copy, legit + " -- " + str(len(failures)))
        assert again.status is Status.OK and again.rows == expected, (sql[:80], again)
    assert not failures, failures
    assert _snapshot(folder) == before, "database folder changed"
    created = {f for f in set(os.listdir("/tmp")) - tmp_before if f.startswith("extensions_")}
    assert not created, created
    # Temp-object poisoning: the real table is still visible, case-insensitive LIKE unchanged.
    r = small_engine.execute(hr_copy, "SELECT count(*) FROM employees WHERE 'a' LIKE 'A'")
    assert r.rows == ((60,),)


@pytest.mark.parametrize("make", ["missing", "directory", "text", "corrupt", "empty", "devnull", "none", "weird_name"])
def test_bad_database_paths(tmp_path, small_engine, make):
    p = tmp_path / "x.sqlite"
    if make == "missing":
        path = str(p)
    elif make == "directory":
        path = str(tmp_path)
    elif make == "text":
        p.write_text("hello, not a database\n" * 100)
        path = str(p)
    elif make == "corrupt":
        good = build_database(str(tmp_path / "good.sqlite"), "hr")
        data = bytearray(open(good, "rb").read())
        data[100:4000] = os.urandom(3900)
        p.write_bytes(bytes(data))
        path = str(p)
    elif make == "empty":
        p.write_bytes(b"")
        path = str(p)
    elif make == "devnull":
        path = "/dev/null"
    elif make == "none":
        path = None
    else:
        path = build_database(str(tmp_path / "we?ird#name %20.sqlite"), "hr")
    r = small_engine.execute(path, "SELECT count(*) FROM employees")
    if make == "weird_name":
        assert r.status is Status.OK and r.rows == ((60,),)
    elif make in ("missing", "directory", "devnull", "none"):
        assert r.status is Status.DB_MISSING
    else:
        assert r.status in (Status.DB_CORRUPT, Status.SCHEMA_ERROR), r
    m = small_engine.match(path, "SELECT 1", "SELECT count(*) FROM employees")
    assert not m.match


def test_no_new_files_next_to_database(tmp_path, small_engine):
    path = build_database(str(tmp_path / "hr.sqlite"), "hr")
    small_engine.execute(path, "SELECT * FROM employees")
    small_engine.execute(path, "PRAGMA journal_mode=WAL")
    assert sorted(os.listdir(tmp_path)) == ["hr.sqlite"]


def test_copy_of_database_is_byte_identical_after_writes(tmp_path, small_engine):
    path = build_database(str(tmp_path / "hr.sqlite"), "hr")
    ref = str(tmp_path / "ref.sqlite")
    shutil.copy(path, ref)
    for sql in ("DELETE FROM employees", "DROP TABLE employees", "UPDATE employees SET salary = 0"):
        assert small_engine.execute(path, sql).status is Status.FORBIDDEN
    assert open(path, "rb").read() == open(ref, "rb").read()


@pytest.mark.slow
def test_inline_lane_and_workers_agree_exactly(hr_copy):
    """Every hostile statement and every demo query: same status, rows, columns and detail either way."""
    from extensions.data.demo import build_demo_databases, demo_examples

    folder = os.path.dirname(hr_copy)
    paths = build_demo_databases(os.path.join(folder, "demo"))
    items = [(hr_copy, sql) for sql, _, _ in CORPUS]
    for e in demo_examples()[:150]:
        q = e["query"]
        items += [
            (paths[e["db_id"]], q),
            (paths[e["db_id"]], q.replace("SELECT", "SELEC", 1)),
            (paths[e["db_id"]], q + " LIMIT 1"),
        ]
    # The step budget decides every runaway; the 2 s backstop only ends the one statement whose single
    # VM step runs for seconds (printf's 2e9-wide padding), the same way on both paths.
    kw = dict(
        workers=1,
        timeout_s=2,
        max_vm_steps=2_000_000,
        adaptive_timeout=False,
        result_cache_entries=0,
        gold_cache_entries=0,
        max_result_bytes=8 * 2**20,
    )
    with ExecutionEngine(**kw) as inline, ExecutionEngine(**kw, inline_budget_ms=0) as workers:
        for path, sql in items:
            a, b = inline.execute(path, sql), workers.execute(path, sql)
            assert (a.status, a.rows, a.columns, a.detail) == (b.status, b.rows, b.columns, b.detail), sql[:80]
        stats = inline.stats()["inline"]
        assert stats["settled"] > len(items) * 0.8 and stats["handed_over"] > 0
