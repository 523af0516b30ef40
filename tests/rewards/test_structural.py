import pytest

from extensions.rewards.structural import DEFAULT_WEIGHTS, StructuralReward
from extensions.sql.clauses import CLAUSES, clause_components, f1

R = StructuralReward(select_weight=0.3, where_weight=0.3, join_weight=0.2)


def test_identical_is_one_and_order_independent():
    a = "SELECT a, b FROM t JOIN u ON t.id = u.tid WHERE x = 1 AND y > 2 GROUP BY a, b"
    b = "select b, a from t join u on u.tid = t.id where y > 2 and x = 1 group by b, a"
    assert R.compute(a, b) == 1.0


def test_aliases_and_qualifiers_do_not_matter():
    assert (
        R.compute("SELECT T1.name FROM emp AS T1 WHERE T1.age > 3", "SELECT e.name FROM emp e WHERE e.age > 3") == 1.0
    )


def test_between_is_one_predicate():
    c = clause_components("SELECT a FROM t WHERE x BETWEEN 1 AND 5 AND y = 2")
    assert len(c["where"]) == 2


def test_no_free_credit_for_shared_absence():
    # Both lack WHERE/JOIN/GROUP BY...: only SELECT and the table count, and SELECT is wrong.
    r = R.compute("SELECT a FROM t", "SELECT b FROM t")
    assert r == pytest.approx(0.5) and r.details["present"] == ["select", "tables"]
    r = R.compute("SELECT a FROM t", "SELECT a FROM t WHERE x = 1")
    assert r == pytest.approx(2 / 3) and r.details["present"] == ["select", "where", "tables"]


def test_a_single_wrong_table_costs_credit():
    """Issue 19: the wrong table scored 0.95 under arctic with all shaping, above the right table with a stray WHERE."""
    gold = "SELECT count(*) FROM singer"
    wrong_table = StructuralReward().compute("SELECT count(*) FROM stadium", gold)
    right_table = StructuralReward().compute("SELECT count(*) FROM singer WHERE age > 30", gold)
    assert wrong_table.details["tables"] == 0.0 and right_table.details["tables"] == 1.0
    assert wrong_table < right_table < 1.0


def test_one_weight_mapping_keyed_by_clauses():
    assert tuple(DEFAULT_WEIGHTS) == CLAUSES
    assert StructuralReward().weights == dict(DEFAULT_WEIGHTS)
    assert StructuralReward(weights={"tables": 0.0}).compute("SELECT a FROM u", "SELECT a FROM t") == 1.0
    assert StructuralReward(join_weight=0.4).weights["join_conditions"] == 0.4
    with pytest.raises(ValueError, match="bogus"):
        StructuralReward(weights={"bogus": 1.0})


def test_order_by_is_positional():
    same = R.compute("SELECT a FROM t ORDER BY a, b", "SELECT a FROM t ORDER BY a, b")
    swapped = R.compute("SELECT a FROM t ORDER BY b, a", "SELECT a FROM t ORDER BY a, b")
    assert same == 1.0 and swapped < 1.0


def test_partial_f1():
    r = R.compute("SELECT a, b FROM t", "SELECT a, c FROM t")
    assert r.details["select"] == pytest.approx(0.5)


def test_set_operations_and_limit():
    r = R.compute("SELECT a FROM t UNION SELECT a FROM u LIMIT 3", "SELECT a FROM t INTERSECT SELECT a FROM u LIMIT 3")
    assert r.details["set_ops"] == 0.0 and r.details["limit"] == 1.0


def test_unparseable_scores_zero():
    assert R.compute("SELECT FROM (", "SELECT a FROM t") == 0.0
    assert R.compute("DELETE FROM t", "SELECT a FROM t") == 0.0


def test_f1_multiset():
    assert f1(("a", "a"), ("a",)) == pytest.approx(2 / 3)
    assert f1((), ()) == 1.0


def test_weights_validated():
    with pytest.raises(ValueError):
        StructuralReward(select_weight=-1)
