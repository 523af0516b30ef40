"""Linear-time text normalisation of SQL (no parsing, standard library only).

>>> cache_key("  SELECT  name\\n FROM   t  WHERE x = 'a  B' ;")
"select name from t where x = 'a  B'"
>>> remove_distinct("SELECT count(DISTINCT name) FROM t WHERE x = 'distinct'")
"SELECT count( name) FROM t WHERE x = 'distinct'"
>>> has_top_level_order_by("SELECT a FROM (SELECT a FROM t ORDER BY a) LIMIT 3")
False
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

from extensions.sql.memo import memoize, text_bytes

# One alternative per piece that is not code, each starting with a literal character: a quoted string or
# identifier (a doubled quote inside it escapes; unterminated, it runs to the end), a ``[bracketed]``
# identifier, a ``--`` comment (to the newline) or a ``/* */`` comment (unterminated: to the end). Each
# alternative scans forward once (an unclosed comment twice, then ends the text), so ``split`` is linear, in C.
_NOT_CODE = re.compile(
    r"""('[^']*(?:''[^']*)*(?:'|\Z)"""
    r"""|"[^"]*(?:""[^"]*)*(?:"|\Z)"""
    r"""|`[^`]*(?:``[^`]*)*(?:`|\Z)"""
    r"""|\[[^\]]*(?:\]|\Z)"""
    r"""|--[^\n]*"""
    r"""|/\*(?:.*?\*/|.*\Z))""",
    re.DOTALL,
)


def _split(sql: str) -> list[str]:
    """``[code, other, code, ..., code]``: code pieces (maybe empty) around quoted text and comments."""
    return _NOT_CODE.split(sql)


def _segments(sql: str) -> Iterator[tuple[bool, str]]:
    """Yield (is_code, text) pieces: quoted literals/identifiers and comments are not code."""
    return ((i % 2 == 0, text) for i, text in enumerate(_split(sql)) if text)


# SQLite's tokenizer: only these start a whitespace token. \x0b counts as space only after one of
# them (sqlite3Isspace), so text holding it, or a NUL, is never folded at all.
_WS = re.compile(r"[ \t\n\f\r]+")
_UNFOLDABLE = re.compile(r"[\x00\x0b]")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _complete_comment(text: str) -> bool:
    """A comment SQLite reads as whitespace whatever follows: ``--...`` or a closed ``/*...*/``."""
    return text.startswith("--") or (text.startswith("/*") and len(text) >= 4 and text.endswith("*/"))


def _code_runs(sql: str) -> list[str]:
    """``[code, other, code, ..., code]`` with each complete comment turned into a space of the code around it."""
    parts = _split(sql)
    runs: list[str] = []
    code = [parts[0]]  # joined once the run ends: linear however many comments it holds
    for i in range(1, len(parts), 2):
        if _complete_comment(parts[i]):
            code += (" ", parts[i + 1])
        else:
            runs += ("".join(code), parts[i])
            code = [parts[i + 1]]
    runs.append("".join(code))
    return runs


# Text of printable ASCII and the folded whitespace only: there ``str.split`` splits exactly where ``_WS`` matches
# and ``str.lower`` folds exactly ASCII letter case (both in C, several times faster than the regex and the table).
_NOT_PLAIN = re.compile(r"[^\t\n\f\r\x20-\x7e]")
_WS_CHARS = " \t\n\f\r"


def _has_special(sql: str) -> bool:
    """Whether ``sql`` holds a quote, a bracket or a comment start (``_NOT_CODE`` would match), by substring tests."""
    return "'" in sql or '"' in sql or "`" in sql or "[" in sql or "--" in sql or "/*" in sql


def _fold_regex(text: str) -> str:
    """A code piece with its whitespace runs folded to one space and its ASCII letters lower-cased (any text)."""
    return _WS.sub(" ", text).translate(_ASCII_LOWER)


def _fold_plain(text: str) -> str:
    """:func:`_fold_regex` for text without anything but printable ASCII and the folded whitespace."""
    words = text.split()
    if not words:
        return " "
    core = " ".join(words).lower()
    lead = " " if text[0] in _WS_CHARS else ""
    return lead + core + " " if text[-1] in _WS_CHARS else lead + core


def statement_key(sql: str) -> str:
    """A key equal for two statements only when SQLite reads them as the same statement (not memoised).

    Folds only what SQLite ignores, outside string literals and quoted identifiers:
    runs of ASCII whitespace (space, tab, LF, FF, CR) to one space, ASCII letter case,
    complete comments, leading and trailing whitespace and one trailing ``;``.
    Unicode spaces, other control characters, Unicode case and unterminated
    comments or quotes are kept as they are.

    Args:
        sql: the statement.

    Returns:
        The key.

    >>> statement_key("SELECT" + chr(0xA0) + "1") == statement_key("SELECT 1"), statement_key("SELECT\\t1 ;")
    (False, 'select 1')
    """
    if sql.isascii() and (sql.isprintable() or _NOT_PLAIN.search(sql) is None):
        fold = _fold_plain
    elif _UNFOLDABLE.search(sql):
        return sql
    else:
        fold = _fold_regex
    runs = _code_runs(sql) if _has_special(sql) else [sql]  # no quote or comment: one code run
    for i in range(0, len(runs), 2):
        if runs[i]:
            runs[i] = fold(runs[i])
    runs[0] = runs[0].lstrip(" ")
    tail = runs[-1].rstrip(" ")
    runs[-1] = tail[:-1].rstrip(" ") if tail.endswith(";") else tail
    return "".join(runs)


# statement_key, remembered for text seen before (a gold query comes back with every batch of its prompt).
cache_key = memoize(65536, 32 * 2**20, value_bytes=text_bytes)(statement_key)


_DISTINCT = re.compile(r"(?<![\w$.])distinct(?![\w$])", re.IGNORECASE)


def remove_distinct(sql: str) -> str:
    """Drop every ``DISTINCT`` keyword outside quotes, as the Spider evaluator does.

    Args:
        sql: the statement.

    Returns:
        The statement without DISTINCT keywords.

    >>> remove_distinct("SELECT DISTINCT a FROM t")
    'SELECT  a FROM t'
    """
    return "".join(_DISTINCT.sub("", text) if is_code else text for is_code, text in _segments(sql))


def spider_postprocess(sql: str) -> str:
    """The official evaluator's fix-ups: ``> =`` to ``>=`` and the current-year macro.

    Args:
        sql: the statement.

    Returns:
        The fixed statement.

    >>> spider_postprocess("a > = 1")
    'a >= 1'
    """
    sql = sql.replace("> =", ">=").replace("< =", "<=").replace("! =", "!=")
    return re.sub(r"YEAR\s*\(\s*CURDATE\s*\(\s*\)\s*\)\s*", "2020", sql, flags=re.IGNORECASE)


_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


def has_top_level_order_by(sql: str) -> bool:
    """True when the outermost query has ORDER BY (not only a subquery).

    Args:
        sql: the statement.

    Returns:
        Whether ORDER BY appears at parenthesis depth 0, outside quotes and comments.

    >>> has_top_level_order_by("SELECT a FROM t ORDER BY a")
    True
    """
    depth = 0
    for is_code, text in _segments(sql):
        if not is_code:
            continue
        # Track parentheses and look for ORDER BY at depth 0 within this piece.
        pos = 0
        for m in re.finditer(r"[()]", text):
            if depth == 0 and _ORDER_BY.search(text, pos, m.start()):
                return True
            depth += 1 if m.group() == "(" else -1
            pos = m.end()
        if depth == 0 and _ORDER_BY.search(text, pos):
            return True
    return False
