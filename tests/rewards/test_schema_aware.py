import pytest

from extensions.rewards.schema_aware import SchemaAwareReward
from extensions.sql.resolve import resolve_names
from extensions.sql.schema import Schema

SCHEMA = Schema.coerce(
    {
        "tables": {
            "employees": {"columns": ["id", "name", "salary", "department_id", "manager_id"]},
            "departments": {"columns": ["id", "name", "budget"]},
            "Projects": {"columns": ["project_id", "Title", "lead_id"]},
        }
    }
)

# (sql, unknown tables, unknown columns, ambiguous)
CASES = [
    ("SELECT name FROM employees", [], [], []),
    ("SELECT Name FROM EMPLOYEES", [], [], []),
    ('SELECT "name" FROM "Employees"', [], [], []),
    ("SELECT e.name, d.name FROM employees AS e JOIN departments AS d ON e.department_id = d.id", [], [], []),
    ("SELECT e.nme FROM employees e", [], ["e.nme"], []),
    ("SELECT name FROM customers", ["customers"], [], []),
    ("SELECT * FROM customers", ["customers"], [], []),
    ("SELECT * FROM employees", [], [], []),
    ("SELECT c.x FROM customers c JOIN employees e ON c.id = e.id", ["customers"], [], []),
    ("WITH top AS (SELECT name, salary FROM employees) SELECT name FROM top WHERE salary > 1", [], [], []),
    ("WITH top AS (SELECT name FROM employees) SELECT salary FROM top", [], ["salary"], []),
    ("WITH t(a, b) AS (SELECT id, name FROM employees) SELECT a, b FROM t", [], [], []),
    ("SELECT x.n FROM (SELECT name AS n FROM employees) AS x", [], [], []),
    ("SELECT x.name FROM (SELECT name AS n FROM employees) AS x", [], ["x.name"], []),
    ("SELECT name FROM employees WHERE department_id IN (SELECT id FROM departments WHERE budget > 0)", [], [], []),
    (
        "SELECT name FROM employees e WHERE EXISTS (SELECT 1 FROM departments d WHERE d.id = e.department_id)",
        [],
        [],
        [],
    ),
    ("SELECT name FROM employees e WHERE EXISTS (SELECT 1 FROM departments d WHERE d.id = e.dept)", [], ["e.dept"], []),
    ("SELECT name FROM employees JOIN departments ON department_id = departments.id", [], [], ["name"]),
    ("SELECT id FROM employees JOIN departments ON department_id = departments.id", [], [], ["id"]),
    ("SELECT title, lead_id FROM projects", [], [], []),
    ("SELECT count(*) AS n FROM employees GROUP BY department_id ORDER BY n DESC", [], [], []),
    ('SELECT name FROM employees WHERE name = "Alice"', [], [], []),  # SQLite reads "Alice" as a string
    ("SELECT bogus FROM employees", [], ["bogus"], []),
    ("SELECT name FROM employees UNION SELECT title FROM projects", [], [], []),
    ("SELECT name FROM employees UNION SELECT nope FROM projects", [], ["nope"], []),
    ("SELECT q.name FROM employees", [], ["q.name"], []),
    ("SELECT rowid, name FROM employees", [], [], []),
    ("SELECT name FROM main.employees", [], [], []),
]


@pytest.mark.parametrize("sql,tables,columns,ambiguous", CASES)
def test_resolution(sql, tables, columns, ambiguous):
    r = resolve_names(sql, SCHEMA)
    assert r.error is None
    assert [t.lower() for t in r.unknown_tables] == tables
    assert list(r.unknown_columns) == columns
    assert list(r.ambiguous_columns) == ambiguous


def test_weight_times_count_with_cap():
    sql = "SELECT a, b, c FROM nosuch JOIN employees ON employees.x = 1 WHERE employees.y = 2 AND employees.z = 3"
    r = resolve_names(sql, SCHEMA)
    assert r.count == 4  # nosuch + x, y, z
    assert SchemaAwareReward(weight=-0.5, cap=None).compute(sql, SCHEMA) == -2.0
    capped = SchemaAwareReward(weight=-0.5, cap=2).compute(sql, SCHEMA)
    assert capped == -1.0 and capped.details["hallucinations"] == 4 and capped.details["penalised"] == 2


def test_ambiguous_is_separate_and_optional():
    sql = "SELECT name FROM employees JOIN departments ON department_id = departments.id"
    assert SchemaAwareReward(weight=-0.5).compute(sql, SCHEMA) == 0.0
    assert SchemaAwareReward(weight=-0.5, ambiguous_weight=-0.1).compute(sql, SCHEMA) == pytest.approx(-0.1)


def test_unparseable_gets_no_penalty_and_a_reason():
    r = SchemaAwareReward().compute("SELECT FROM WHERE (", SCHEMA)
    assert r == 0.0 and r.details["error"]


def test_schema_forms(demo_paths):
    sql = "SELECT name FROM employes"
    ddl = "CREATE TABLE employees (id INTEGER, name TEXT);"
    spider = {"table_names_original": ["employees"], "column_names_original": [[-1, "*"], [0, "id"], [0, "name"]]}
    for schema in (demo_paths["hr"], ddl, spider, {"employees": ["id", "name"]}):
        assert SchemaAwareReward(weight=-1.0).compute(sql, schema) == -1.0
    bad = SchemaAwareReward().compute(sql, "/no/such/file.sqlite")
    assert bad == 0.0 and "schema" in bad.details["error"]


def test_positive_weight_rejected():
    with pytest.raises(ValueError):
        SchemaAwareReward(weight=0.5)
