"""``cache_key`` never makes two statements equal that SQLite reads differently."""

from __future__ import annotations

import json
import pathlib
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extensions.data.demo import demo_examples
from extensions.sql.normalize import cache_key

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "normalize_pairs.jsonl"
PAIRS = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
GOLDS = [(e["db_id"], e["query"]) for e in demo_examples()]

SPACES = [" ", "\t", "\n", "\f", "\r", "\x0b", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000", "  "]
INSERTS = ["/**/", "/* c */", "--c\n", "/*", "--", "'", '"', "Ä", "ä", ";"]
TAILS = [";", ";;", " ;", "; ", "/*", "/* x", "/**/", "--", "--x", "'", "\x0b", " \x0b", "\xa0", ";--x"]

mutation = st.tuples(st.sampled_from(["space", "case", "insert", "tail"]), st.floats(0, 1), st.integers(0, 99))


def mutate(sql: str, mutations: list[tuple[str, float, int]]) -> str:
    """Apply folding-prone edits: whitespace swaps, case flips, comments and quotes, odd tails."""
    for kind, where, pick in mutations:
        i = int(where * (len(sql) - 1)) if sql else 0
        if kind == "space":
            spaces = [j for j, ch in enumerate(sql) if ch == " "]
            if spaces:
                j = spaces[int(where * (len(spaces) - 1))]
                sql = sql[:j] + SPACES[pick % len(SPACES)] + sql[j + 1 :]
        elif kind == "case" and sql:
            sql = sql[:i] + sql[i].swapcase() + sql[i + 1 :]
        elif kind == "insert":
            sql = sql[:i] + INSERTS[pick % len(INSERTS)] + sql[i:]
        elif kind == "tail":
            sql += TAILS[pick % len(TAILS)]
    return sql


@pytest.fixture(scope="module")
def connections(demo_paths: dict[str, str]) -> dict[str, sqlite3.Connection]:
    conns = {db: sqlite3.connect(f"file:{path}?mode=ro", uri=True) for db, path in demo_paths.items()}
    yield conns
    for conn in conns.values():
        conn.close()


def outcome(conn: sqlite3.Connection, sql: str) -> object:
    """The rows SQLite returns, or the class of the error it raises."""
    try:
        return ("rows", conn.execute(sql).fetchmany(200))
    except (sqlite3.Error, ValueError) as exc:  # ValueError: NUL characters, surrogates
        return ("error", type(exc).__name__)


@pytest.mark.parametrize("pair", PAIRS, ids=[p["note"] for p in PAIRS])
def test_hostile_pairs(pair: dict) -> None:
    assert (cache_key(pair["a"]) == cache_key(pair["b"])) is pair["same_key"]


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    gold=st.sampled_from(GOLDS),
    edits_a=st.lists(mutation, max_size=4),
    edits_b=st.lists(mutation, max_size=4),
)
def test_equal_keys_mean_equal_sqlite_outcomes(connections, gold, edits_a, edits_b) -> None:
    db_id, sql = gold
    a, b = mutate(sql, edits_a), mutate(sql, edits_b)
    if cache_key(a) == cache_key(b):
        conn = connections[db_id]
        assert outcome(conn, a) == outcome(conn, b), (a, b)
