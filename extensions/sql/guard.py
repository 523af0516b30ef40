"""A linear pre-scan that decides whether SQL text is safe to hand to sqlglot.

sqlglot (compiled or not) and every later walk of its tree (``.sql()``,
``copy()``, ``==``, scopes, our own canonical forms) recurse once per level of
the syntax tree. Deep input therefore either raises ``RecursionError`` or, when
a host has raised ``sys.setrecursionlimit``, overflows the C stack (SIGSEGV)
before Python can object. :func:`check_sql` bounds the tree depth *before*
parsing, in one pass over the tokens, without recursion.

What is bounded (quoted strings, quoted identifiers and comments are skipped,
the way SQLite and sqlglot tokenize them):

* ``MAX_PAREN_DEPTH``: nesting of ``(`` and ``{`` (sub-queries, function
  calls, CAST, EXISTS, IN lists, CTE bodies all need parentheses);
* ``MAX_TREE_DEPTH``: an upper estimate of the syntax-tree depth. Within one
  parenthesised level, each comma-separated item counts its operators (every
  operator character, so ``- - -`` and ``-~-~`` count per character, plus
  ``AND OR NOT IS IN LIKE CASE ...`` and ``.``) and adds the deepest level it
  contains; set operations (``UNION``...) count for the whole level because a
  comma does not end their chain. Left-deep chains such as ``1+1+1+...``,
  ``a AND b AND ...``, ``CASE WHEN ... CASE ...`` and ``UNION`` chains are
  therefore bounded too, not only parentheses;
* ``MAX_JOINS``: JOIN keywords in the whole text. sqlglot's parse time doubles
  with every JOIN that lacks an ON (it tries nested-join readings), so
  ``FROM t JOIN a JOIN a ...`` with 30 JOINs would hold the caller for hours;
* ``MAX_SQL_CHARS``: the length of the text.

>>> check_sql("SELECT count(*) FROM singer WHERE age > (SELECT avg(age) FROM singer)") is None
True
>>> check_sql("SELECT " + "(" * 5000 + "1" + ")" * 5000)
'too_deep: parentheses nested deeper than 32'
>>> check_sql("SELECT " + "1+" * 3000 + "1")
'too_deep: expression deeper than 160'
"""

from __future__ import annotations

import re

from extensions.sql.memo import memoize

MAX_SQL_CHARS = 20_000
MAX_PAREN_DEPTH = 32
MAX_TREE_DEPTH = 160
MAX_JOINS = 12

# One token per match; strings, quoted identifiers and comments may be unterminated.
_TOKEN = re.compile(
    r"""'(?:[^']|'')*'?"""
    r'''|"(?:[^"]|"")*"?'''
    r"""|`(?:[^`]|``)*`?"""
    r"""|\[[^\]]*\]?"""
    r"""|--[^\n]*"""
    r"""|/\*(?:[^*]|\*(?!/))*(?:\*/)?"""
    r"""|[A-Za-z_\x80-\U0010ffff][\w$\x80-\U0010ffff]*"""
    r"""|\d[\w.]*"""
    r"""|[(){},]"""
    r"""|[^\s\w(){},'"`\[]+""",
)
_OPEN = frozenset("({")
_CLOSE = frozenset(")}")
_SKIP = frozenset("'\"`[")
_WORD_OPS = frozenset(
    "and or not is in like glob match regexp between case when then else escape collate "
    "isnull notnull exists select distinct all any some filter over".split()
)
_SET_OPS = frozenset({"union", "intersect", "except"})
_JOINS = frozenset({"join", "straight_join"})


class _Level:
    """Counters for one open parenthesis level."""

    __slots__ = ("item_ops", "item_child", "best", "set_ops")

    def __init__(self) -> None:
        self.item_ops = 0  # operators in the current comma-separated item
        self.item_child = 0  # deepest nested level inside the current item
        self.best = 0  # deepest finished item of this level
        self.set_ops = 0  # UNION / INTERSECT / EXCEPT anywhere in this level

    def end_item(self) -> None:
        self.best = max(self.best, self.item_ops + self.item_child)
        self.item_ops = self.item_child = 0

    def depth(self) -> int:
        self.end_item()
        return self.best + self.set_ops + 1


def _ops_in(token: str) -> tuple[int, int, int]:
    """``(operators, set operations, joins)`` that one token adds."""
    first = token[0]
    if first in _SKIP or token.startswith(("--", "/*")) or first.isdigit():
        return 0, 0, 0
    if first.isalpha() or first == "_" or first >= "\x80":
        low = token.lower()
        return int(low in _WORD_OPS), int(low in _SET_OPS), int(low in _JOINS)
    return len(token), 0, 0  # operator characters, including "." and unary runs


def check_sql(sql: str, *, max_chars: int = MAX_SQL_CHARS) -> str | None:
    """None when ``sql`` is safe to hand to sqlglot, else the reason it is not.

    Args:
        sql: the SQL text (any string).
        max_chars: longer text is refused as ``"too_long"`` without scanning.

    Returns:
        ``None``, ``"too_long"`` or a reason starting with ``"too_deep"`` (nesting, or too many JOINs).

    >>> check_sql("SELECT " + "NOT " * 500 + "1")
    'too_deep: expression deeper than 160'
    """
    if len(sql) > max_chars:
        return "too_long"
    if surely_shallow(sql):
        return None
    return _verdict(sql)


# What the scan can count, over the whole text: every operator character, every operator word, every
# opening bracket and JOIN (inside strings and comments too, so these are upper bounds of its counts).
_PUNCT = re.compile(r"""[^\s\w(){},'"`\[]""")
_OP_WORD = re.compile(r"\b(?:" + "|".join(sorted(_WORD_OPS | _SET_OPS)) + r")\b")
_JOIN_WORD = re.compile(r"\b(?:" + "|".join(sorted(_JOINS)) + r")\b")


def surely_shallow(sql: str) -> bool:
    """True when whole-text counts prove :func:`check_sql` accepts ``sql``: no token scan needed.

    The scan's depth estimate along any path adds each operator, set operation and bracket level at
    most once, so ``operator characters + operator words + opening brackets + 1`` bounds it; brackets
    and JOINs are bounded by their counts. Counted with regular expressions over ASCII text (other
    text goes to the scan), this settles most real statements several times faster than the scan.

    Args:
        sql: the SQL text.

    Returns:
        True only when the scan would return no reason; False means "scan it".

    >>> surely_shallow("SELECT name FROM singer WHERE age > 30"), surely_shallow("SELECT " + "1+" * 200 + "1")
    (True, False)
    """
    if not sql.isascii():
        return False
    opens = sql.count("(") + sql.count("{")
    if opens > MAX_PAREN_DEPTH:
        return False
    lower = sql.lower()
    if len(_JOIN_WORD.findall(lower)) > MAX_JOINS:
        return False
    return len(_PUNCT.findall(sql)) + len(_OP_WORD.findall(lower)) + opens + 1 <= MAX_TREE_DEPTH


@memoize(max_entries=65536, max_bytes=32 * 1024 * 1024)
def _verdict(sql: str) -> str | None:
    """The scan's verdict, remembered: a GRPO group repeats its gold and many of its predictions."""
    return scan_sql(sql)


def scan_sql(sql: str) -> str | None:
    """The token scan's verdict: what :func:`check_sql` returns when whole-text counts cannot settle ``sql``.

    Args:
        sql: the SQL text (length unchecked).

    Returns:
        ``None`` or a reason starting with ``"too_deep"``.

    >>> scan_sql("SELECT " + "(" * 40 + "1" + ")" * 40)
    'too_deep: parentheses nested deeper than 32'
    """
    return _scan(sql, bounded=True)[1]


def tree_depth_estimate(sql: str) -> int:
    """The tree-depth estimate :func:`check_sql` compares with ``MAX_TREE_DEPTH`` (for tests and tuning).

    Args:
        sql: the SQL text.

    Returns:
        The estimate, ignoring every limit.

    >>> tree_depth_estimate("SELECT a FROM t WHERE x = 1 AND y = 2")
    5
    """
    return _scan(sql, bounded=False)[0]


def _scan(sql: str, *, bounded: bool) -> tuple[int, str | None]:
    """One pass over the tokens: ``(depth estimate, reason)``; stops at the first bound when ``bounded``."""
    stack = [_Level()]
    joins = 0
    for m in _TOKEN.finditer(sql):
        token = m.group()
        if token in _OPEN:
            if bounded and len(stack) > MAX_PAREN_DEPTH:
                return len(stack), f"too_deep: parentheses nested deeper than {MAX_PAREN_DEPTH}"
            stack.append(_Level())
        elif token in _CLOSE:
            if len(stack) > 1:
                _close(stack)
        elif token == ",":
            stack[-1].end_item()
        else:
            ops, set_ops, join = _ops_in(token)
            stack[-1].item_ops += ops
            stack[-1].set_ops += set_ops
            joins += join
            if bounded and stack[-1].item_ops + stack[-1].set_ops > MAX_TREE_DEPTH:
                return MAX_TREE_DEPTH + 1, f"too_deep: expression deeper than {MAX_TREE_DEPTH}"
            if bounded and joins > MAX_JOINS:
                return len(stack), f"too_deep: more than {MAX_JOINS} JOINs"
    while len(stack) > 1:
        _close(stack)
    depth = stack[0].depth()
    if bounded and depth > MAX_TREE_DEPTH:
        return depth, f"too_deep: expression deeper than {MAX_TREE_DEPTH}"
    return depth, None


def _close(stack: list[_Level]) -> None:
    """Pop the innermost level and charge its depth to the item that holds it."""
    depth = stack.pop().depth()
    parent = stack[-1]
    parent.item_child = max(parent.item_child, depth)
