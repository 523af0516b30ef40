"""A batch's statements analysed in one pass: the same components, bounded, never raises."""

import pytest

from extensions.sql.clauses import clause_components, warm_components
from extensions.sql.memo import clear_caches

STATEMENTS = [
    "SELECT a, count(*) FROM t JOIN u ON t.id = u.tid WHERE x > 1 GROUP BY a ORDER BY a DESC LIMIT 3",
    "SELECT name FROM emp WHERE age BETWEEN 20 AND 30 UNION SELECT name FROM boss",
    "SELEC name FROM emp",  # unparseable
    "DELETE FROM emp",  # not a query
    "SELECT " + "(" * 300 + "1" + ")" * 300,  # refused as too deep, unparsed
    "SELECT 'unterminated",
    "\x00\x01 binary \xff",
]


def test_warmed_components_equal_cold_ones():
    clear_caches()
    cold = [clause_components(s) for s in STATEMENTS]
    clear_caches()
    assert warm_components(STATEMENTS) == len(STATEMENTS)
    assert [clause_components(s) for s in STATEMENTS] == cold
    assert cold[0] is not None and cold[2] is None and cold[3] is None and cold[4] is None


def test_repeats_and_non_text_are_skipped():
    assert warm_components([STATEMENTS[0], STATEMENTS[0], None, 3, b"SELECT 1", STATEMENTS[1]]) == 2
    assert warm_components([]) == 0


@pytest.mark.parametrize(("limits", "expected"), [({"max_statements": 2}, 2), ({"max_bytes": 1}, 1)])
def test_the_pass_stops_at_its_bounds(limits, expected):
    """Past either bound the rest is left to be analysed when scored; nothing is refused."""
    clear_caches()
    assert warm_components(STATEMENTS, **limits) == expected
    assert clause_components(STATEMENTS[-4]) is None and clause_components(STATEMENTS[1]) is not None
