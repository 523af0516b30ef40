import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extensions.sql import normalize
from extensions.sql.normalize import cache_key, has_top_level_order_by, remove_distinct, spider_postprocess


@pytest.mark.parametrize(
    "a,b",
    [
        ("SELECT  a\nFROM t ;", "select a from t"),
        ("SELECT a -- c\nFROM t", "select a from t"),
        ("SELECT 'x  Y' FROM t", "select 'x  Y' from t"),
        ('SELECT "a  B" FROM t', 'select "a  B" from t'),
        ("SELECT 'it''s  OK'", "select 'it''s  OK'"),
        ("SELECT\ta FROM T;", "select a from t"),
        ("SELECT\ta FROM T;;", "select a from t;"),  # two statements to SQLite: never the key of one
    ],
)
def test_cache_key(a, b):
    assert cache_key(a) == b


def test_cache_key_keeps_case_and_literals_distinct():
    assert cache_key("SELECT 'A'") != cache_key("SELECT 'a'")


@pytest.mark.parametrize(
    "sql,expected",
    [
        ("SELECT DISTINCT a FROM t", "SELECT  a FROM t"),
        ("SELECT count(distinct a) FROM t", "SELECT count( a) FROM t"),
        ("SELECT a FROM t WHERE b = 'distinct'", "SELECT a FROM t WHERE b = 'distinct'"),
        ("SELECT distinct_count FROM t", "SELECT distinct_count FROM t"),
        ('SELECT "distinct" FROM t', 'SELECT "distinct" FROM t'),
    ],
)
def test_remove_distinct(sql, expected):
    assert remove_distinct(sql) == expected


def test_spider_postprocess():
    assert spider_postprocess("a > = 1 and b ! = 2") == "a >= 1 and b != 2"
    assert spider_postprocess("SELECT YEAR(CURDATE()) - x") == "SELECT 2020- x"


@pytest.mark.parametrize(
    "sql,expected",
    [
        ("SELECT a FROM t ORDER BY a", True),
        ("SELECT a FROM (SELECT a FROM t ORDER BY a LIMIT 3)", False),
        ("SELECT a FROM t WHERE b = 'order by'", False),
        ("SELECT a FROM t order\n by a desc", True),
    ],
)
def test_top_level_order_by(sql, expected):
    assert has_top_level_order_by(sql) is expected


@given(st.text(alphabet=st.sampled_from([" ", "\t", "\n", "\f", "\r", "a", "B", "Z", "_", "1", ";", "(", "~"])))
@settings(max_examples=300, deadline=None)
def test_the_plain_text_fold_is_the_regex_fold(text: str) -> None:
    """On printable ASCII and the folded whitespace, the split-based fold gives what the regex fold gives."""
    if text:
        assert normalize._fold_plain(text) == normalize._fold_regex(text)


@given(st.text(alphabet=st.sampled_from(["a", " ", "'", '"', "`", "[", "]", "-", "/", "*", "\n", "\t", "\x7f", "é"])))
@settings(max_examples=300, deadline=None)
def test_the_shortcut_tests_agree_with_the_regular_expressions(text: str) -> None:
    """The substring test finds a quote or comment start where ``_NOT_CODE`` does; ``isprintable`` never
    calls text plain that ``_NOT_PLAIN`` would not."""
    assert normalize._has_special(text) == bool(normalize._NOT_CODE.search(text))
    if text.isascii() and text.isprintable():
        assert normalize._NOT_PLAIN.search(text) is None


def scan(sql: str) -> list[tuple[bool, str]]:
    """The pieces as SQLite's tokenizer reads them, one character at a time: the reference for ``_segments``."""
    out: list[tuple[bool, str]] = []
    code, i, n = "", 0, len(sql)
    while i < n:
        ch, two = sql[i], sql[i : i + 2]
        if ch in "'\"`[":
            close, j = ("]" if ch == "[" else ch), i + 1
            while j < n and not (sql[j] == close and (close == "]" or sql[j + 1 : j + 2] != close)):
                j += 2 if sql[j] == close else 1  # a doubled quote is one escaped quote
            end = min(j + 1, n)
        elif two == "--":
            end = sql.find("\n", i) % (n + 1)  # to the newline (kept as code) or the end
        elif two == "/*":
            end = n if sql.find("*/", i + 2) < 0 else sql.find("*/", i + 2) + 2
        else:
            code += ch
            i += 1
            continue
        if code:
            out.append((True, code))
        out.append((False, sql[i:end]))
        code, i = "", end
    return out + [(True, code)] if code else out


PIECES = ["a", " ", "'", '"', "`", "[", "]", "-", "/", "*", "\n", ";", "é"]


@given(st.text(alphabet=st.sampled_from(PIECES), max_size=40))
@settings(max_examples=1000, deadline=None)
def test_the_pieces_are_those_a_character_scan_finds(text: str) -> None:
    """Quotes (doubled ones escaped, unterminated ones to the end), brackets and comments split as a scan does."""
    assert list(normalize._segments(text)) == scan(text)
