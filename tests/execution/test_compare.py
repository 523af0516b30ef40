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


# -- the column-permutation search: pruned, bounded, and the official verdict -------------------------
def _official_result_eq(gold, pred, order_matters):
    """The official test-suite ``result_eq`` with every permutation tried (no random-row pruning)."""
    import itertools
    from collections import Counter

    if not gold and not pred:
        return True
    if len(gold) != len(pred) or len(pred[0]) != len(gold[0]):
        return False
    for perm in itertools.permutations(range(len(gold[0]))):
        permuted = [tuple(r[j] for j in perm) for r in pred]
        if (permuted == list(gold)) if order_matters else (Counter(permuted) == Counter(gold)):
            return True
    return False


def test_the_pruned_search_gives_the_official_verdict_on_random_tables():
    import random

    rng = random.Random(0)
    for _ in range(3000):
        n, rows = rng.randint(1, 5), rng.randint(1, 5)
        values = [None, 1, 2, "a", 1.0][: rng.randint(1, 5)]
        gold = [tuple(rng.choice(values) for _ in range(n)) for _ in range(rows)]
        perm = rng.sample(range(n), n)
        pred = [tuple(r[j] for j in perm) for r in gold]
        rng.shuffle(pred)
        if rng.random() < 0.6:  # usually break it in one cell
            i = rng.randrange(rows)
            pred[i] = tuple(rng.choice(values) for _ in range(n))
        for om in (False, True):
            expected = _official_result_eq(gold, pred, om)
            assert spider_result_eq(gold, pred, order_matters=om) == expected, (gold, pred, om)


def _incidence(edges, n=12):
    """Rows = edges, columns = vertices: equal columns multisets, equal sorted rows, any pairing."""
    return [tuple(1 if v in e else None for v in range(n)) for e in edges]


THREE_K4 = _incidence([(a + o, b + o) for o in (0, 4, 8) for a in range(4) for b in range(a + 1, 4)])
PRISM = _incidence(
    [(i, (i + 1) % 6) for i in range(6)] + [(6 + i, 6 + (i + 1) % 6) for i in range(6)] + [(i, i + 6) for i in range(6)]
)


def test_12_columns_paired_differently_are_rejected_without_trying_12_factorial_assignments():
    # Every column holds the same values (three 1s, NULLs) and every row the same multiset:
    # only the pairing differs (three K4s against a prism), which the unpruned search found after 12! tries.
    assert spider_result_eq(THREE_K4, PRISM, order_matters=False, max_steps=100_000) is False
    shuffled = [tuple(r[j] for j in (3, 1, 4, 0, 2, 5, 11, 6, 10, 7, 9, 8)) for r in THREE_K4[::-1]]
    assert spider_result_eq(THREE_K4, shuffled, order_matters=False, max_steps=100_000) is True
    # 12 all-NULL columns: identical columns are tried once each, not 12! times
    nulls = [(None,) * 12] * 4
    assert spider_result_eq(nulls, nulls, order_matters=False, max_steps=0) is True


def test_the_search_stops_at_its_bound_with_a_defined_outcome():
    from extensions.execution.compare import CompareLimit, CompareOptions

    with pytest.raises(CompareLimit):
        spider_result_eq(THREE_K4, PRISM, order_matters=False, max_steps=50)
    with pytest.raises(CompareLimit):
        CompareOptions(max_compare_steps=50).matches(THREE_K4, PRISM, gold_sql="SELECT * FROM t")


def test_the_engine_reports_a_comparison_past_its_bound_as_too_large(tmp_path):
    import sqlite3

    from extensions.execution.compare import CompareOptions
    from extensions.execution.engine import ExecutionEngine
    from extensions.execution.status import Status

    db = str(tmp_path / "pairs.sqlite")
    cols = ", ".join(f"c{i}" for i in range(12))
    with sqlite3.connect(db) as c:
        for name, rows in (("g", THREE_K4), ("p", PRISM)):
            c.execute(f"CREATE TABLE {name} ({cols})")
            c.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * 12)})", rows)
    c.close()
    with ExecutionEngine(workers=1) as eng:
        m = eng.match(db, "SELECT * FROM p", "SELECT * FROM g", options=CompareOptions(max_compare_steps=50))
        assert (m.match, m.status) == (False, Status.TOO_LARGE) and "max_compare_steps=50" in m.detail
        m = eng.match(db, "SELECT * FROM p", "SELECT * FROM g")
        assert (m.match, m.status) == (False, Status.OK)
        assert eng.match(db, "SELECT * FROM g", "SELECT * FROM g").match


def test_options_hash_like_their_fields_also_after_a_pickle_round_trip():
    import pickle

    from extensions.execution.compare import CompareOptions

    a, b = CompareOptions("bird"), CompareOptions("bird")
    copy = pickle.loads(pickle.dumps(a))
    assert a == b == copy and hash(a) == hash(b) == hash(copy)
    assert {a: 1}[copy] == 1 and CompareOptions("spider") not in {a: 1}
    assert b"_hash" not in pickle.dumps(a)  # a hash is only valid in the process that computed it
