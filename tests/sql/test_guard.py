"""The depth guard: no nesting shape crashes any SQL entry, at any recursion limit, in any thread."""

from __future__ import annotations

import doctest
import json
import pathlib
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extensions.sql import guard, memo
from extensions.sql.guard import MAX_PAREN_DEPTH, check_sql
from extensions.sql.parse import parse_sql

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "deep_sql.jsonl"
DEFINED = ("ok", "too_deep", "too_long", "parse_error", "token_error", "empty", "multiple_statements")


def _run_child(limit: int, mode: str) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.sql.deep_child", str(FIXTURE), str(limit), mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    last = rows[-1]["shape"] if rows else "(none)"
    assert proc.returncode == 0, f"exit {proc.returncode} after {last!r}: {proc.stderr[-2000:]}"
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["main", "thread"])
@pytest.mark.parametrize("limit", [1_000, 10_000, 100_000])
def test_every_shape_gets_a_defined_outcome(limit: int, mode: str) -> None:
    rows = _run_child(limit, mode)
    shapes = [json.loads(line)["shape"] for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    assert [r["shape"] for r in rows[::5]] == shapes  # every case ran, five depths each
    for r in rows:
        case = f"{r['shape']} at {r['n']}"
        assert r["parse"].split(":")[0] in DEFINED, case
        assert r["walks"] in ("ok", "not_parsed"), case
        assert r["syntax"].split(":")[0] in DEFINED + ("not_a_read_query",), case
        assert isinstance(r["ddl"], list) or r["ddl"] == "SchemaLoadError", case
        if r["depth"] == "max+1":  # one level past the bound is refused before sqlglot sees it
            assert r["parse"].startswith(("too_deep", "too_long")), case
            assert r["resolve"].startswith(("too_deep", "too_long")) and r["clauses"] == "none", case
        if r["depth"] == "max":  # anything the guard accepts is parsed and walked without recursion trouble
            assert "recursion" not in r["parse"] and "recursion" not in r["resolve"], case


@pytest.mark.parametrize(
    "sql,reason",
    [
        ("SELECT " + "(" * (MAX_PAREN_DEPTH + 1) + "1" + ")" * (MAX_PAREN_DEPTH + 1), "too_deep: parentheses"),
        ("SELECT " + "1+" * 5000 + "1", "too_deep: expression"),
        ("SELECT 1" + " UNION SELECT 1, 2" * 200, "too_deep: expression"),
        ("SELECT '" + "(" * 10_000 + "'", None),
        ("SELECT a FROM t WHERE a IN (" + "-1, " * 2000 + "1)", None),
        ("SELECT 1" + " " * 30_000, "too_long"),
        ("SELECT a FROM t" + " JOIN a" * 30, "too_deep: more than 12 JOINs"),
    ],
    ids=["parens", "plus-chain", "union-chain-with-commas", "parens-in-string", "flat-in-list", "long", "join-chain"],
)
def test_check_sql_reasons(sql: str, reason: str | None) -> None:
    got = check_sql(sql)
    assert got == reason if reason is None else got.startswith(reason)
    assert (parse_sql(sql).error or "").startswith(reason or "")


WIDE = [json.loads(line) for line in (ROOT / "tests" / "fixtures" / "wide_legit_sql.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("case", WIDE, ids=[c["case"] for c in WIDE])
def test_wide_but_shallow_queries_pass(case: dict) -> None:
    # Long JOIN chains that have their ON/USING, and CASE with many sibling branches, are flat trees.
    assert check_sql(case["sql"]) is None
    assert parse_sql(case["sql"]).ok


@pytest.mark.parametrize(
    "sql,reason",
    [
        ("SELECT * FROM t" + " JOIN a ON 1" * 40 + " JOIN b" * 12, None),  # only the 12 without ON count
        ("SELECT * FROM t" + " JOIN a ON 1" * 40 + " JOIN b" * 13, "too_deep: more than 12 JOINs without ON or USING"),
        ("SELECT * FROM t" + " JOIN a" * 14 + " ON 1" * 14, "too_deep: more than 12 JOINs"),  # ONs after the chain
        (
            "SELECT * FROM t" + " JOIN (SELECT * FROM a" * 13 + ")" * 13,
            "too_deep: more than 12 JOINs",
        ),  # ON-less, nested
        ("SELECT CASE" + " WHEN a = 1 AND b = 2 THEN 1" * 500 + " END", None),
        ("SELECT " + "CASE WHEN 1 THEN " * 60 + "1" + " END" * 60, "too_deep: expression deeper than 160"),
        ("SELECT " + "CASE WHEN " * 60 + "1" + " THEN 1 END" * 60, "too_deep: expression deeper than 160"),
        ("SELECT CASE WHEN 1 THEN 1 END" + " + 1" * 200, "too_deep: expression deeper than 160"),
    ],
    ids=[
        "40-with-on-12-without",
        "40-with-on-13-without",
        "ons-after-chain",
        "nested-derived",
        "flat-case",
        "case-in-then",
        "case-in-when",
        "chain-after-case",
    ],
)
def test_only_bare_joins_and_real_nesting_count(sql: str, reason: str | None) -> None:
    got = check_sql(sql)
    assert got == reason if reason is None else (got or "").startswith(reason)


def _demo_golds() -> list[str]:
    from extensions.data.demo import demo_examples, slot_examples

    return [e["query"] for e in demo_examples() + slot_examples()]


def test_every_bundled_demo_gold_passes_the_guard() -> None:
    golds = _demo_golds()
    assert len(golds) > 300 and [s for s in golds if check_sql(s) is not None] == []


@pytest.mark.shared
def test_every_spider_query_passes_the_guard(spider_dev: pathlib.Path) -> None:
    # Every Spider dev gold, every recorded prediction of six systems, every bundled gold and the wide
    # fixture: none is refused (the largest sqlglot parse time among them is measured by
    # `python -m extensions.bench guard`, not asserted here).
    sqls = [e["query"] for e in json.loads((spider_dev / "dev.json").read_text())]
    for line in (spider_dev / "official_exec_verdicts.jsonl").read_text().splitlines():
        row = json.loads(line)
        sqls += [row["gold"], row["pred"]]
    sqls += _demo_golds() + [c["sql"] for c in WIDE]
    refused = [s for s in sqls if isinstance(s, str) and check_sql(s) is not None]
    assert len(sqls) > 12_000 and refused == []


@pytest.mark.parametrize("module", [guard, memo])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


def _boundary_cases() -> list[str]:
    """Every deep shape of the fixture one level below, at and past each bound, and the hostile statements."""
    cases = []
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        s = json.loads(line)
        for n in (
            guard.MAX_PAREN_DEPTH - 1,
            guard.MAX_PAREN_DEPTH,
            guard.MAX_PAREN_DEPTH + 1,
            79,
            80,
            81,
            159,
            160,
            161,
        ):
            cases.append(s["head"] + s["open"] * n + s["core"] + s.get("close", "") * n)
    hostile = ROOT / "tests" / "fixtures" / "hostile_sql.jsonl"
    cases += [row["sql"] for row in map(json.loads, hostile.read_text(encoding="utf-8").splitlines()) if "sql" in row]
    return cases


def test_the_fast_path_never_accepts_what_the_scan_refuses() -> None:
    cases = _boundary_cases()
    for n in range(1, 80):  # nested and chained CASE levels without branches weigh more than their words
        cases += ["SELECT " + "CASE " * n + "1" + " END" * n, "SELECT " + "CASE 1 END + " * n + "1"]
    settled = [sql for sql in cases if guard.surely_shallow(sql)]
    assert settled and len(settled) < len(cases)  # it settles some and leaves the deep ones to the scan
    for sql in settled:
        assert guard.scan_sql(sql) is None, sql[:80]


_SOUP = [
    "(",
    ")",
    "{",
    "}",
    ",",
    " ",
    "1",
    "a",
    "+",
    "-",
    "'",
    "--",
    "\n",
    "/*",
    "*/",
    "AND",
    "not",
    "UNION",
    "join",
    "x$and",
    "CASE",
    "case",
    "END",
    "WHEN",
    "then",
    "ELSE",
    "ON",
    "using",
    ".",
    "[",
    "]",
    "`",
    '"',
]


@given(st.lists(st.sampled_from(_SOUP), max_size=400))
@settings(max_examples=500, deadline=None)
def test_the_fast_path_agrees_with_the_scan_on_token_soup(tokens: list[str]) -> None:
    sql = " ".join(tokens) if len(tokens) % 2 else "".join(tokens)
    if guard.surely_shallow(sql):
        assert guard.scan_sql(sql) is None


def _counted_bound(sql: str) -> bool:
    """The whole-text counts of :func:`guard.surely_shallow` as regular expressions spell them (its definition)."""
    import re

    if not sql.isascii() or sql.count("(") + sql.count("{") > MAX_PAREN_DEPTH:
        return False
    lower = sql.lower()
    words = re.findall(r"\w+", lower)
    if sum(w in ("join", "straight_join") for w in words) > guard.MAX_JOINS:
        return False
    ops = sum(w in guard._WORD_OPS or w in guard._SET_OPS for w in words) + guard.CASE_WEIGHT * words.count("case")
    punct = len(re.findall(r"""[^\s\w(){},'"`\[]""", sql))
    return punct + ops + sql.count("(") + sql.count("{") + 1 <= guard.MAX_TREE_DEPTH


@given(st.lists(st.sampled_from([*_SOUP, "straight_join", "JOIN", "\x1c", "é", "in", "*"]), max_size=400))
@settings(max_examples=500, deadline=None)
def test_the_fast_path_settles_exactly_what_its_counts_allow(tokens: list[str]) -> None:
    """The shortcuts (a length below the bound, JOIN counted as a substring first) change no answer."""
    sql = " ".join(tokens) if len(tokens) % 2 else "".join(tokens)
    assert guard.surely_shallow(sql) == _counted_bound(sql)
