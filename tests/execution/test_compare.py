import pytest

from extensions.execution.compare import prepare_sql, results_match, spider_result_eq

# (gold, pred, semantics, gold_sql, expected)
CASES = [
    ([(1, "a"), (2, "b")], [(2, "b"), (1, "a")], "spider", "SELECT x, y FROM t", True),
    ([(1, "a"), (2, "b")], [(2, "b"), (1, "a")], "spider", "SELECT x, y FROM t ORDER BY x", False),
    ([(1, "a"), (2, "b")], [("a", 1), ("b", 2)], "spider", "SELECT x, y FROM t", True),  # column permutation
    ([(1, 1), (1, 1)], [(1, 1)], "spider", "SELECT x, y FROM t", False),  # multiset
    ([], [], "spider", "SELECT x FROM t", True),  # two empties are equal
    ([], [(1,)], "spider", "SELECT x FROM t", False),
    ([(1,)], [(1, 2)], "spider", "SELECT x FROM t", False),
    ([(1,)], [(1.0,)], "spider", "SELECT x FROM t", True),  # Python equality, as the official evaluator
    ([("1",)], [(1,)], "spider", "SELECT x FROM t", False),
    ([(1, 2, 3, 4, 5)], [(5, 4, 3, 2, 1)], "spider", "SELECT a, b, c, d, e FROM t", True),
    ([(1, 2), (2, 1)], [(1, 2), (2, 1)], "spider", "SELECT a FROM t order by a", True),
    ([(1, "a")], [("a", 1)], "bird", "", False),  # column order significant
    ([(1,), (1,)], [(1,)], "bird", "", True),  # set semantics
    ([(1,), (2,)], [(2,), (1,)], "bird", "SELECT a FROM t ORDER BY a", True),
    ([(1,), (2,)], [(2,), (1,)], "strict", "SELECT a FROM t", True),
    ([(1,), (2,)], [(2,), (1,)], "strict", "SELECT a FROM t ORDER BY a", False),
    ([(1,), (2,)], [(2,), (1,)], "strict", "SELECT a FROM (SELECT a FROM t ORDER BY a)", True),
    ([(1,), (1,)], [(1,)], "strict", "SELECT a FROM t", False),
    ([(1, "a")], [("a", 1)], "strict", "", False),
]


@pytest.mark.parametrize("gold,pred,semantics,gold_sql,expected", CASES)
def test_semantics(gold, pred, semantics, gold_sql, expected):
    assert results_match(gold, pred, semantics=semantics, gold_sql=gold_sql) is expected


def test_unknown_semantics():
    with pytest.raises(ValueError, match="allowed"):
        results_match([], [], semantics="nope")  # type: ignore[arg-type]


def test_permutation_with_duplicate_columns():
    gold = [(1, 1, 2), (3, 3, 4)]
    pred = [(2, 1, 1), (4, 3, 3)]
    assert spider_result_eq(gold, pred, order_matters=False)
    assert not spider_result_eq(gold, [(2, 1, 1), (4, 3, 5)], order_matters=False)


def test_many_columns_is_fast_enough_and_correct():
    gold = [tuple(range(i, i + 12)) for i in range(50)]
    pred = [tuple(reversed(r)) for r in gold]
    assert spider_result_eq(gold, pred, order_matters=False)


def test_prepare_sql_spider_only():
    assert prepare_sql("SELECT DISTINCT a FROM t", semantics="spider") == "SELECT  a FROM t"
    assert prepare_sql("SELECT DISTINCT a FROM t", semantics="spider", keep_distinct=True) == "SELECT DISTINCT a FROM t"
    assert prepare_sql("SELECT DISTINCT a FROM t", semantics="bird") == "SELECT DISTINCT a FROM t"
