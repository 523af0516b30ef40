"""Name resolution agrees with SQLite: CTE column lists define columns; [x] and `x` are always identifiers."""

from __future__ import annotations

import sqlite3

import pytest

from extensions.sql.resolve import resolve_names
from extensions.sql.schema import Schema

TABLES = {
    "employees": ["id", "name", "salary", "department_id"],
    "departments": ["id", "name"],
    "frpm": ["CDSCode", "School Name", "Charter School (Y/N)", "Free Meal Count (K-12)"],
}
SCHEMA = Schema.coerce(TABLES)

# (sql, unknown columns); every case is also checked against SQLite's own compile
CASES = [
    ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<5) SELECT count(*) FROM c", []),
    ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<5) SELECT x, c.x FROM c", []),
    ("WITH RECURSIVE c(n, f) AS (SELECT 1, 1 UNION ALL SELECT n+1, f*(n+1) FROM c WHERE n<5) SELECT f FROM c", []),
    ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT y+1 FROM c WHERE x<5) SELECT count(*) FROM c", ["y"]),
    ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<5) SELECT y FROM c", ["y"]),
    ("WITH c(x) AS (SELECT 1 UNION SELECT 2) SELECT x FROM c", []),
    ("WITH c(a, b) AS (SELECT * FROM departments) SELECT a, b FROM c", []),
    ("WITH c(a) AS (SELECT id FROM employees) SELECT id FROM c", ["id"]),  # the list renames: id is gone
    (
        (
            "WITH RECURSIVE chain(id, boss) AS (SELECT id, department_id FROM employees UNION ALL "
            "SELECT e.id, chain.boss FROM employees AS e JOIN chain ON e.department_id = chain.id) "
            "SELECT boss FROM chain"
        ),
        [],
    ),
    ("SELECT [nme] FROM employees", ["nme"]),
    ("SELECT `nme` FROM employees", ["nme"]),
    ('SELECT "nme" FROM employees', []),  # SQLite reads an unresolvable "nme" as a string
    ("SELECT [name], `salary` FROM employees", []),
    ("SELECT name FROM employees WHERE name = `Alice`", ["Alice"]),
    ("SELECT name FROM employees WHERE name = [Alice]", ["Alice"]),
    ('SELECT name FROM employees WHERE name = "Alice"', []),
    ("SELECT T1.`School Name` FROM frpm AS T1 WHERE T1.`Charter School (Y/N)` = 1", []),
    ("SELECT `School Name`, `Free Meal Count (K-12)` / 2 FROM frpm WHERE `Charter School (Y/N)` = 1", []),
    ("SELECT `School Nme` FROM frpm WHERE `Charter School (Y/N)` = 1", ["School Nme"]),
    (
        "SELECT `School Name` FROM frpm WHERE `Charter School` = 1 ORDER BY `Free Meal Count` DESC",
        ["Charter School", "Free Meal Count"],
    ),
    ("SELECT T1.`School Nme` FROM frpm AS T1", ["T1.School Nme"]),
]


def _sqlite_says_unknown(sql: str) -> bool:
    conn = sqlite3.connect(":memory:")
    for table, cols in TABLES.items():
        conn.execute(f"CREATE TABLE {table} ({', '.join(chr(34) + c + chr(34) for c in cols)})")
    try:
        conn.execute("EXPLAIN " + sql)
        return False
    except sqlite3.OperationalError as exc:
        return "no such column" in str(exc)
    finally:
        conn.close()


@pytest.mark.parametrize("sql,columns", CASES)
def test_resolution_matches_sqlite(sql: str, columns: list[str]) -> None:
    r = resolve_names(sql, SCHEMA)
    assert r.error is None and list(r.unknown_columns) == columns
    assert _sqlite_says_unknown(sql) is bool(columns)


def test_bird_style_backtick_hallucination_is_penalised_by_the_reward(demo_paths) -> None:
    from extensions.config import RewardConfig
    from extensions.rewards.combine import RewardComputer

    rc = RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic", schema_weight=-0.1))
    gold = {"sql": "SELECT name FROM employees", "db_path": demo_paths["hr"]}
    for sql in ("SELECT `nme` FROM `employees`", "SELECT [nme] FROM [employees]", "SELECT nme FROM employees"):
        r = rc.compute_reward(f"```sql\n{sql}\n```", gold)
        assert r.details["schema"]["unknown_columns"] == ["nme"] and r.breakdown["schema"] == pytest.approx(-0.1)
    quoted = rc.compute_reward('```sql\nSELECT "nme" FROM employees\n```', gold)  # a string to SQLite: runs
    assert quoted.details["schema"]["unknown_columns"] == [] and quoted.breakdown["schema"] == 0.0
