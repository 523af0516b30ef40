import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extensions.sql import extract
from extensions.sql.extract import extract_sql, last_fenced_block

GOOD = "<think>reason</think><answer>```sql\nSELECT 1\n```</answer>"

CASES = [
    # (text, style, sql, format_ok, reason)
    (GOOD, "auto", "SELECT 1", True, "ok"),
    (GOOD, "sql_r1", "SELECT 1", True, "ok"),
    ("<think>a</think>\n<answer>\n```SQL\nSELECT 2;\n```\n</answer>", "auto", "SELECT 2", True, "ok"),
    (
        "<think>a</think><think>b</think><answer>```sql SELECT 1```</answer>",
        "sql_r1",
        "SELECT 1",
        False,
        "duplicate_tag:<think>",
    ),
    ("<answer>```sql\nSELECT 1\n```</answer>", "sql_r1", "SELECT 1", False, "missing_tag:<think>"),
    ("<answer>```sql\nSELECT 1\n```</answer><think>x</think>", "sql_r1", "SELECT 1", False, "tags_out_of_order"),
    ("<think>x</think><answer>SELECT 3</answer>", "sql_r1", "SELECT 3", False, "no_sql_block_in_answer"),
    (
        "<think>x</think>junk<answer>```sql\nSELECT 1\n```</answer>",
        "sql_r1",
        "SELECT 1",
        False,
        "text_between_think_and_answer",
    ),
    ("<think>x</think><answer>```sql\nSELECT 1\n```</answer><answer>", "sql_r1", None, False, "duplicate_tag:<answer>"),
    ("text ```sql\nSELECT 1\n``` more ```sql\nSELECT 2\n```", "omnisql", "SELECT 2", True, "ok"),
    ("text ```sql\nSELECT 1\n``` more ```sql\nSELECT 2", "omnisql", "SELECT 2", False, "unclosed_fence"),
    ("```sql\nSELECT 2", "auto", "SELECT 2", False, "unclosed_fence"),
    ("<think>x</think><answer>```sql\nSELECT 4</answer>", "sql_r1", "SELECT 4", False, "unclosed_fence"),
    ("<think>x</think><answer>```sql\nSELECT 4</answer>", "auto", "SELECT 4", False, "unclosed_fence"),
    ("```\nSELECT 5\n```", "auto", "SELECT 5", True, "ok"),
    ("no sql here", "omnisql", None, False, "no_sql_block"),
    ("SELECT name FROM t;", "plain", "SELECT name FROM t", True, "ok"),
    ("SELECT name FROM t", "auto", "SELECT name FROM t", True, "ok"),
    ("", "auto", None, False, "empty"),
    ("   ", "sql_r1", None, False, "empty"),
]


@pytest.mark.parametrize("text,style,sql,ok,reason", CASES)
def test_extract_cases(text, style, sql, ok, reason):
    e = extract_sql(text, style=style)
    if sql is not None:
        assert e.sql == sql
    assert e.format_ok is ok
    assert e.format_reason == reason


@pytest.mark.parametrize("bad", [None, 3, 4.5, ["SELECT 1"], {"a": 1}])
def test_non_text_never_raises(bad):
    e = extract_sql(bad)
    assert e.sql is None and not e.format_ok and e.format_reason == "not_text"


def test_bytes_are_decoded():
    assert extract_sql(b"SELECT 1\xff").sql.startswith("SELECT 1")


def test_sql_block_not_required_when_disabled():
    e = extract_sql("<think>x</think><answer>SELECT 3</answer>", style="sql_r1", require_sql_block=False)
    assert e.format_ok and e.sql == "SELECT 3"


def test_think_and_answer_are_reported():
    e = extract_sql(GOOD)
    assert e.think == "reason" and "SELECT 1" in e.answer


def test_adversarial_repeated_tags_and_megabytes():
    # Thousands of repeated tags and megabytes of text: defined verdicts.
    many = "<think>" * 5000 + "</think>" * 5000 + "<answer>```sql\nSELECT 1\n```</answer>"
    assert extract_sql(many).format_reason == "duplicate_tag:<think>"
    huge = "<think>" + "a" * 3_000_000 + "</think><answer>```sql\nSELECT 9\n```</answer>"
    e = extract_sql(huge)
    assert e.format_ok and e.sql == "SELECT 9"
    fences = "```sql\n" * 20000
    assert extract_sql(fences, style="omnisql").sql is None


def test_last_fenced_block_untagged():
    assert last_fenced_block("```\nSELECT 1\n```") == "SELECT 1"
    assert last_fenced_block("nothing") is None


BODY = "SELECT e.name, count(*)\nFROM employees AS e\nWHERE e.salary > 10\nGROUP BY e.name"
INFO_STRINGS = [
    "sql",
    "SQL",
    "sqlite",
    "SQLite",
    "sqlite3",
    "sql3",
    "postgresql",
    "mysql",
    "tsql",
    "plsql",
    "python",
    "sql title=x",
    'sqlite title="query.sql"',
    " sql",
    "sql:query.sql",
    "{sql}",
    "text",
    "",
    "  ",
]


@pytest.mark.parametrize("info", INFO_STRINGS)
@pytest.mark.parametrize("style", ["auto", "omnisql"])
def test_any_info_string_is_dropped_and_the_body_is_exact(info, style):
    e = extract_sql(f"The query:\n```{info}\n{BODY}\n```\nDone.", style=style)
    assert (e.sql, e.format_ok, e.format_reason) == (BODY, True, "ok")


@pytest.mark.parametrize("info", INFO_STRINGS)
def test_any_info_string_inside_an_answer_tag(info):
    e = extract_sql(f"<think>t</think><answer>\n```{info}\n{BODY}\n```\n</answer>", style="sql_r1")
    assert e.sql == BODY


@pytest.mark.parametrize(
    "text,sql",
    [
        ("```sqlite SELECT 1```", "SELECT 1"),
        ("```SQLite WITH a AS (SELECT 1) SELECT * FROM a```", "WITH a AS (SELECT 1) SELECT * FROM a"),
        ("```SELECT 2```", "SELECT 2"),
        ("```select 2\nFROM t```", "select 2\nFROM t"),
        ("```(SELECT 3)```", "(SELECT 3)"),
        ("```/* count */ SELECT 3```", "/* count */ SELECT 3"),
        ("```-- count\nSELECT 3\n```", "-- count\nSELECT 3"),
        ("```sql\nSELECT 4\n```\n```text\n| 4 |\n```", "SELECT 4"),  # the SQL block wins over a later output block
        ("```python\nx = 1\n```\n```\nSELECT 5\n```", "SELECT 5"),  # no SQL-tagged block: the last block
        ("Fence code with ```, like this:\n```sqlite\nSELECT 6\n```", "SELECT 6"),  # a stray fence in the prose
        ("```\n```sql\nSELECT 7\n```", "SELECT 7"),
        ("```sql\nSELECT 8\n```\n```", "SELECT 8"),
    ],
)
def test_one_line_fences_and_block_preference(text, sql):
    assert extract_sql(text).sql == sql


REASONING = [  # (completion, the reasoning reported as think)
    (
        "<think>The employees table has salaries.</think>\n\n```sql\nSELECT count(*) FROM employees\n```",
        "The employees table has salaries.",
    ),
    (
        "The employees table has salaries.\n</think>\n\n```sqlite\nSELECT count(*) FROM employees\n```",
        "The employees table has salaries.\n",
    ),
    (
        "<think>draft: ```sql\nSELECT 1\n```</think>\n```sql\nSELECT count(*) FROM employees\n```",
        "draft: ```sql\nSELECT 1\n```",
    ),
    ("<think>a</think>\nSELECT count(*) FROM employees;", "a"),
]


@pytest.mark.parametrize("text,think", REASONING)
def test_think_without_answer_is_read_after_the_reasoning(text, think):
    e = extract_sql(text)
    assert (e.sql, e.format_ok, e.format_reason, e.think) == ("SELECT count(*) FROM employees", True, "ok", think)
    assert e.style in ("omnisql", "plain")


def test_a_think_that_never_closes_is_still_a_broken_format():
    e = extract_sql("<think>still thinking ```sql\nSELECT 1\n```")
    assert (e.format_ok, e.format_reason, e.sql) == (False, "missing_tag:</think>", "SELECT 1")


@pytest.mark.parametrize("text", [text for text, _ in REASONING])
def test_think_without_answer_scores_correct_end_to_end(engine, demo_paths, text):
    from extensions.config import RewardConfig
    from extensions.rewards.combine import RewardComputer

    gold = {"sql": "SELECT count(id) FROM employees", "db_path": demo_paths["hr"]}
    for baseline in ("arctic", "reasoning_sql"):
        r = RewardComputer(RewardConfig(baseline=baseline, extraction_style="auto"), engine=engine).compute_reward(
            text, gold
        )
        assert r.breakdown["correct"] == 1.0 and r.breakdown["format_ok"] == 1.0, r.details


def test_sqlite_fence_scores_correct_end_to_end(engine, demo_paths):
    from extensions.config import RewardConfig
    from extensions.rewards.combine import RewardComputer

    gold = {"sql": "SELECT count(id) FROM employees", "db_path": demo_paths["hr"]}
    rc = RewardComputer(RewardConfig(baseline="arctic"), engine=engine)
    for info in ("sqlite", "SQLite", "sql3"):
        r = rc.compute_reward(f"```{info}\nSELECT count(*) FROM employees\n```", gold)
        assert r.breakdown["correct"] == 1.0 and r.details["sql"] == "SELECT count(*) FROM employees"


@given(st.sampled_from(["", "\n", "sql\n", "sql\nSELECT 1", "\nSELECT 1\n"]), st.text(max_size=20))
@settings(max_examples=200, deadline=None)
def test_the_fence_line_shortcuts_read_as_the_rule_does(head: str, tail: str) -> None:
    text = "```" + head + tail
    for end in range(3, len(text) + 1):
        assert extract._info_string(text, 3, end) == extract._info_rule(text, 3, end)
