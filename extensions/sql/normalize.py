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
from collections.abc import Iterator

from extensions.sql.memo import memoize, text_bytes

_QUOTES = {"'": "'", '"': '"', "`": "`", "[": "]"}
_SPECIAL = re.compile(r"['\"`\[]|--|/\*")


def _segments(sql: str) -> Iterator[tuple[bool, str]]:
    """Yield (is_code, text) pieces: quoted literals/identifiers and comments are not code."""
    i, n = 0, len(sql)
    while i < n:
        m = _SPECIAL.search(sql, i)
        if m is None:
            break
        start = m.start()
        if start > i:
            yield True, sql[i:start]
        ch = sql[start]
        if ch in _QUOTES:
            close = _QUOTES[ch]
            j = start + 1
            while True:
                j = sql.find(close, j)
                if j < 0:
                    j = n
                    break
                if close != "]" and sql.startswith(close * 2, j):  # doubled quote escape
                    j += 2
                    continue
                j += 1
                break
        elif ch == "-":
            j = sql.find("\n", start)
            j = n if j < 0 else j
        else:
            j = sql.find("*/", start + 2)
            j = n if j < 0 else j + 2
        yield False, sql[start:j]
        i = j
    if i < n:
        yield True, sql[i:]


_WS = re.compile(r"\s+")


@memoize(65536, 32 * 2**20, value_bytes=text_bytes)
def cache_key(sql: str) -> str:
    """Whitespace-collapsed, lower-cased SQL (outside quotes), without comments or trailing ``;``.

    SQLite keywords and unquoted identifiers are case-insensitive, so two
    statements with the same key return the same rows.
    """
    if not _SPECIAL.search(sql):  # fast path: no quotes or comments
        out = " ".join(sql.split()).lower()
        while out.endswith(";"):
            out = out[:-1].rstrip()
        return out
    out = ""
    for is_code, text in _segments(sql):
        if not is_code and (text.startswith("--") or text.startswith("/*")):
            is_code, text = True, " "
        if is_code:
            text = _WS.sub(" ", text).lower()
            if out.endswith(" ") and text.startswith(" "):
                text = text[1:]
        out += text
    out = out.strip()
    while out.endswith(";"):
        out = out[:-1].rstrip()
    return out


_DISTINCT = re.compile(r"(?<![\w$.])distinct(?![\w$])", re.IGNORECASE)


def remove_distinct(sql: str) -> str:
    """Drop every ``DISTINCT`` keyword outside quotes, as the Spider evaluator does."""
    return "".join(_DISTINCT.sub("", text) if is_code else text for is_code, text in _segments(sql))


def spider_postprocess(sql: str) -> str:
    """The official evaluator's fix-ups: ``> =`` to ``>=`` and the current-year macro."""
    sql = sql.replace("> =", ">=").replace("< =", "<=").replace("! =", "!=")
    return re.sub(r"YEAR\s*\(\s*CURDATE\s*\(\s*\)\s*\)\s*", "2020", sql, flags=re.IGNORECASE)


_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


def has_top_level_order_by(sql: str) -> bool:
    """True when the outermost query has ORDER BY (not only a subquery)."""
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
