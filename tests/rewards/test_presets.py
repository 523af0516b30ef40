"""Baseline presets on hand-computed cases."""

import pytest

from extensions.execution.engine import MatchResult
from extensions.execution.status import ExecResult, Status
from extensions.rewards.presets import arctic, bigram_jaccard, combined, reasoning_sql, schema_linking_recall, sql_r1
from extensions.rewards.rollout import Rollout
from extensions.sql.extract import extract_sql

OK = ExecResult(Status.OK, rows=((1,),))


def ev(
    text: str, *, match: bool | None, executed: bool = True, gold_error: bool = False, gold: str = "SELECT a FROM t"
) -> Rollout:
    if match is None:
        m = None
    elif gold_error:
        m = MatchResult(False, Status.GOLD_ERROR, pred=OK if executed else ExecResult(Status.SYNTAX_ERROR))
    else:
        m = MatchResult(
            match,
            Status.OK if executed else Status.SYNTAX_ERROR,
            pred=OK if executed else ExecResult(Status.SYNTAX_ERROR),
        )
    return Rollout(extract_sql(text), gold, m)


GOOD = "<think>abcd</think><answer>```sql\nSELECT a FROM t\n```</answer>"
BAD_FORMAT = "<answer>```sql\nSELECT a FROM t\n```</answer>"


def test_sql_r1_correct_with_length_bonus():
    e = ev(GOOD, match=True)
    answer_len = len("```sql\nSELECT a FROM t\n```")
    c = sql_r1(e, max_length=100, length_weight=0.5)
    assert c == {"format": 1.0, "execution": 2.0, "result": 3.0, "length": pytest.approx(0.5 * (4 + answer_len) / 100)}


def test_sql_r1_length_is_capped():
    assert sql_r1(ev(GOOD, match=True), max_length=10, length_weight=0.5)["length"] == 0.5


def test_sql_r1_wrong_format_only_format_counts():
    assert sum(sql_r1(ev(BAD_FORMAT, match=True)).values()) == -1.0


def test_sql_r1_not_executable():
    assert sql_r1(ev(GOOD, match=False, executed=False)) == {
        "format": 1.0,
        "execution": -2.0,
        "result": 0.0,
        "length": 0.0,
    }


def test_sql_r1_executes_but_wrong():
    assert sum(sql_r1(ev(GOOD, match=False)).values()) == 0.0


def test_sql_r1_gold_error_is_neutral():
    assert sql_r1(ev(GOOD, match=False, gold_error=True)) == {
        "format": 1.0,
        "execution": 2.0,
        "result": 0.0,
        "length": 0.0,
    }


@pytest.mark.parametrize(
    "text,match,executed,expected",
    [
        (GOOD, True, True, 1.0),
        (GOOD, False, True, 0.1),
        (GOOD, False, False, 0.0),
        (BAD_FORMAT, True, True, 0.0),
        (BAD_FORMAT, False, True, 0.0),
    ],
)
def test_arctic(text, match, executed, expected):
    assert arctic(ev(text, match=match, executed=executed)) == {"execution": expected}


def test_reasoning_sql():
    same = reasoning_sql(ev(GOOD, match=True))
    assert same == {"execution": 3.0, "schema_linking": 1.0, "ngram": 1.0, "format": 1.0}
    wrong = reasoning_sql(ev("<think>x</think><answer>```sql\nSELECT b FROM t\n```</answer>", match=False))
    assert wrong["execution"] == 1.0 and wrong["format"] == 1.0
    assert wrong["schema_linking"] == pytest.approx(0.5)  # table t yes, column a no
    # bigrams of "select b from t": (select,b) (b,from) (from,t); gold: (select,a) (a,from) (from,t) -> 1/5
    assert wrong["ngram"] == pytest.approx(1 / 5)
    broken = reasoning_sql(ev("SELEC", match=False, executed=False))
    assert broken["execution"] == 0.0


def test_bigram_and_linking_helpers():
    assert bigram_jaccard(None, "SELECT a") == 0.0
    assert schema_linking_recall("SELECT x FROM u", "SELECT a FROM t") == 0.0


def test_combined():
    e = ev(GOOD, match=True)
    e.syntax_valid, e.structural = True, 1.0
    assert sum(combined(e).values()) == pytest.approx(1.0)
    w = ev(GOOD, match=False)
    w.syntax_valid, w.structural = True, 0.5
    assert combined(w) == {"syntax": 0.2, "execution": 0.0, "semantic": pytest.approx(0.1)}
