import pytest

from extensions.rewards.syntax import EnhancedSyntaxReward

S = EnhancedSyntaxReward(weight=0.2)


@pytest.mark.parametrize(
    "sql,valid,reason",
    [
        ("SELECT a FROM t", True, "ok"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", True, "ok"),
        ("SELECT 1 UNION SELECT 2", True, "ok"),
        ("SELECT 'unterminated", False, "token_error"),
        ("SELECT FROM WHERE", False, "parse_error"),
        ("SELECT 1; SELECT 2", False, "multiple_statements"),
        ("DELETE FROM t", False, "not_a_read_query"),
        ("UPDATE t SET a = 1", False, "not_a_read_query"),
        ("INSERT INTO t VALUES (1)", False, "not_a_read_query"),
        ("DROP TABLE t", False, "not_a_read_query"),
        ("CREATE TEMP VIEW v AS SELECT 1", False, "not_a_read_query"),
        ("PRAGMA writable_schema = 1", False, "not_a_read_query"),
        ("", False, "empty"),
        ("SELECT " + "(" * 5000 + "1" + ")" * 5000, False, "too_deep"),
        ("SELECT " + "x, " * 20000 + "y FROM t", False, "too_long"),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else str(v),
)
def test_ast_verdicts(sql, valid, reason):
    r = S.compute(sql)
    assert r.details["valid"] is valid
    assert r.details["reason"].startswith(reason)
    assert r == (0.2 if valid else 0.0)


def test_sqlite_prepare_against_the_real_schema(demo_paths, engine):
    hr = demo_paths["hr"]
    assert S.compute("SELECT name FROM employees", hr, engine=engine) == 0.2
    r = S.compute("SELECT nme FROM employees", hr, engine=engine)
    assert r == 0.0 and r.details["reason"] == "sqlite_schema_error"
    # A missing database falls back to the AST verdict.
    assert S.compute("SELECT name FROM employees", "/nope.sqlite", engine=engine) == 0.2


def test_non_string_input():
    assert S.compute(None) == 0.0  # type: ignore[arg-type]
