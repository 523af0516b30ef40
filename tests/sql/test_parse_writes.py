"""``parse_sql`` tells read-only queries from statements that write, wherever the write sits in the tree."""

from __future__ import annotations

import pytest

from extensions.sql.parse import parse_sql

WRITES = [
    "INSERT INTO t VALUES (1)",
    "INSERT INTO t SELECT a FROM s",
    "UPDATE t SET a = 1 WHERE b IN (SELECT b FROM s)",
    "DELETE FROM t WHERE a > 1",
    "WITH x AS (SELECT 1) DELETE FROM t",
    "CREATE TABLE t2 AS SELECT * FROM t",
    "DROP TABLE t",
    "ALTER TABLE t ADD COLUMN c INT",
    "PRAGMA writable_schema = 1",
    "ATTACH DATABASE 'x.db' AS x",
    "BEGIN",
    "COMMIT",
    "VACUUM",
]
READS = [
    "SELECT a FROM t",
    "SELECT count(*) FROM t WHERE a IN (SELECT a FROM s) GROUP BY b HAVING count(*) > 1",
    "WITH x AS (SELECT 1 AS a) SELECT a FROM x UNION SELECT 2",
    "VALUES (1), (2)",
]


@pytest.mark.parametrize("sql", WRITES)
def test_a_write_is_never_a_read_query(sql: str) -> None:
    parsed = parse_sql(sql)
    assert parsed.is_write or parsed.error, sql
    assert not parsed.is_query


@pytest.mark.parametrize("sql", READS)
def test_a_read_query_is_not_a_write(sql: str) -> None:
    parsed = parse_sql(sql)
    assert parsed.ok and parsed.is_query and not parsed.is_write
    assert parsed.nodes > 1


def test_the_verdict_does_not_depend_on_what_was_parsed_before() -> None:
    """Writes and reads interleaved, each parsed fresh (no cache hit), give the same verdicts in either order."""
    pairs = [(w + " ", r + " ") for w, r in zip(WRITES, READS * 4)]
    first = [(parse_sql(w).is_write, parse_sql(r).is_write) for w, r in pairs]
    second = [(parse_sql(w + " ").is_write, parse_sql(r + " ").is_write) for w, r in reversed(pairs)]
    assert first == list(reversed(second))
    assert all(not r for _, r in first)
