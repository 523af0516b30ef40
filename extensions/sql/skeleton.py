"""SQL skeletons: a query with its literals masked, the unit of "template" in held-out splits and statistics.

Two gold queries that differ only in their values (``gpa > 3.5`` and ``gpa > 3.8``) share a skeleton, so a
held-out prompt whose skeleton also occurs in training measures copying a seen template, not writing SQL.

>>> skeleton("SELECT name FROM t WHERE gpa > 3.5 AND city = 'Oslo'")
'select name from t where gpa > ? and city = ?'
>>> skeleton_id("SELECT a FROM t WHERE x = 1") == skeleton_id("select a  from t where x = 42")
True
"""

from __future__ import annotations

import hashlib
import re

# A quoted string ('' escapes a quote), then a number that is not part of a name (t1, col_2 stay).
_LITERAL = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w])", re.I)
_SPACE = re.compile(r"\s+")


def skeleton(sql: str) -> str:
    """The query with string and number literals replaced by ``?``, lower-cased, spaces collapsed.

    Double-quoted text counts as a literal (Spider's golds quote values that way); a trailing ``;`` is dropped.

    Args:
        sql: a SQL query.

    Returns:
        The skeleton text.

    >>> skeleton('SELECT count(*) FROM singer WHERE country = "France";')
    'select count(*) from singer where country = ?'
    """
    masked = _LITERAL.sub("?", sql)
    return _SPACE.sub(" ", masked).strip().rstrip(";").strip().lower()


def skeleton_id(sql: str) -> str:
    """A short stable id of the query's skeleton (8 hex digits of its SHA-1).

    Args:
        sql: a SQL query.

    Returns:
        The id.

    >>> len(skeleton_id("SELECT 1"))
    8
    """
    return hashlib.sha1(skeleton(sql).encode()).hexdigest()[:8]
