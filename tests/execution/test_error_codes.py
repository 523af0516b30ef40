"""SQLite's error text quotes names the model chose: the status comes from the result code, never from that text."""

import json
import sqlite3

import pytest

from extensions.execution.engine import ExecutionEngine
from extensions.execution.sandbox import classify_error
from extensions.execution.status import Status
from tests.conftest import FIXTURES

CASES = [json.loads(line) for line in (FIXTURES / "hostile_error_names.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module", params=["inline_lane", "workers_only"])
def path_engine(request):
    eng = ExecutionEngine(workers=1, inline_budget_ms=10.0 if request.param == "inline_lane" else 0.0)
    yield eng
    eng.close()


@pytest.mark.parametrize("case", CASES, ids=[c["note"] for c in CASES])
def test_hostile_names_get_the_status_of_an_ordinary_error(case, path_engine, demo_paths):
    hr = demo_paths["hr"]
    r = path_engine.execute(hr, case["sql"])
    assert r.status.value == case["status"], (case, r.detail)
    m = path_engine.match(hr, case["sql"], "SELECT count(*) FROM employees")
    assert (m.match, m.status.value) == (False, case["status"])


@pytest.mark.parametrize("case", CASES, ids=[c["note"] for c in CASES])
def test_without_result_codes_anchored_prefixes_give_the_same_status(case, demo_paths):
    """Python 3.10 has no ``sqlite_errorcode``: the message prefix decides, with the same outcome."""
    conn = sqlite3.connect(demo_paths["hr"])
    try:
        conn.execute(case["sql"]).fetchall()
    except sqlite3.Error as exc:
        bare = type(exc)(str(exc))  # built by hand: no result code attached
        assert getattr(bare, "sqlite_errorcode", None) is None
        assert classify_error(bare)[0].value == classify_error(exc)[0].value == case["status"]
    else:
        pytest.fail(f"{case['sql']} ran")
    finally:
        conn.close()


@pytest.mark.parametrize(
    "message, status",
    [
        ("interrupted", Status.TIMEOUT),
        ("attempt to write a readonly database", Status.FORBIDDEN),
        ("not authorized to use function: random", Status.FORBIDDEN),
        ("file is not a database", Status.DB_CORRUPT),
        ("database disk image is malformed", Status.DB_CORRUPT),
        ("string or blob too big", Status.TOO_LARGE),
        ("Expression tree is too large (maximum depth 1000)", Status.TOO_LARGE),
        ("no such column: interrupted", Status.SCHEMA_ERROR),
        ('near "interrupted": syntax error', Status.SYNTAX_ERROR),
    ],
)
def test_the_prefix_fallback_reads_sqlites_own_messages(message, status):
    assert classify_error(sqlite3.OperationalError(message))[0] is status
