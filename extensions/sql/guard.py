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
  therefore bounded too, not only parentheses. Flat siblings are not chains:
  the ``WHEN``/``THEN``/``ELSE`` branches of one CASE, like the items of a
  comma list, count only as deep as the deepest of them (a CASE level adds
  ``CASE_WEIGHT``), and each JOIN starts a new item (joined tables form a list);
* ``MAX_JOINS``: JOINs without an ``ON`` or ``USING`` before the next JOIN of
  the same level (or its end), in the whole text. sqlglot's parse time doubles
  with every such JOIN (it tries nested-join readings), so
  ``FROM t JOIN a JOIN a ...`` with 30 JOINs would hold the caller for hours,
  while a chain whose every JOIN has its ON parses in linear time;
* ``MAX_SQL_CHARS``: the length of the text.

>>> check_sql("SELECT count(*) FROM singer WHERE age > (SELECT avg(age) FROM singer)") is None
True
>>> check_sql("SELECT " + "(" * 5000 + "1" + ")" * 5000)
'too_deep: parentheses nested deeper than 32'
>>> check_sql("SELECT " + "1+" * 3000 + "1")
'too_deep: expression deeper than 160'
>>> check_sql("SELECT * FROM t0" + "".join(f" JOIN t{i} ON t{i}.a = t0.a" for i in range(1, 15))) is None
True
>>> check_sql("SELECT * FROM t0" + " JOIN t" * 13)
'too_deep: more than 12 JOINs without ON or USING'
"""

from __future__ import annotations

import itertools
import re

from extensions.sql.memo import memoize

MAX_SQL_CHARS = 20_000
MAX_PAREN_DEPTH = 32
MAX_TREE_DEPTH = 160
MAX_JOINS = 12

# One token per match; strings, quoted identifiers and comments may be unterminated.
_TOKEN = re.compile(
    r"""'(?:[^']|'')*'?"""
    r"""|"(?:[^"]|"")*"?"""
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
    {
        "and",
        "or",
        "not",
        "is",
        "in",
        "like",
        "glob",
        "match",
        "regexp",
        "between",
        "case",
        "when",
        "then",
        "else",
        "escape",
        "collate",
        "isnull",
        "notnull",
        "exists",
        "select",
        "distinct",
        "all",
        "any",
        "some",
        "filter",
        "over",
    }
)
_SET_OPS = frozenset({"union", "intersect", "except"})
_JOINS = frozenset({"join", "straight_join"})
_JOIN_CONDITIONS = frozenset({"on", "using"})
_CASE_BRANCHES = frozenset({"when", "then", "else"})
_ZEROS = itertools.repeat(0)  # the weight of any other word (map's second argument)
CASE_WEIGHT = 2  # a CASE level is a Case node over If nodes: two tree levels above its branches


class _Level:
    """Counters for one open parenthesis level, or for the branches of one open CASE."""

    __slots__ = ("best", "case", "item_child", "item_ops", "join_open", "set_ops")

    def __init__(self, *, case: bool = False) -> None:
        self.item_ops = 0  # operators in the current comma-separated item (or CASE branch)
        self.item_child = 0  # deepest nested level inside the current item
        self.best = 0  # deepest finished item of this level
        self.set_ops = 0  # UNION / INTERSECT / EXCEPT anywhere in this level
        self.case = case  # a CASE ... END: WHEN, THEN and ELSE separate sibling branches
        self.join_open = False  # a JOIN of this level still waits for its ON or USING

    def end_item(self) -> None:
        self.best = max(self.best, self.item_ops + self.item_child)
        self.item_ops = self.item_child = 0

    def depth(self) -> int:
        self.end_item()
        return self.best + self.set_ops + (CASE_WEIGHT if self.case else 1)


class _Scan:
    """The scan's state: the open levels and the JOINs that have no ON or USING."""

    def __init__(self) -> None:
        self.stack = [_Level()]
        self.parens = 0
        self.cases = 0
        self.bare_joins = 0

    def open(self, *, case: bool) -> None:
        self.stack.append(_Level(case=case))
        self.cases += case
        self.parens += not case

    def close(self) -> None:
        """Pop the innermost level, charge its depth to the item that holds it, and settle its last JOIN."""
        level = self.stack.pop()
        self.cases -= level.case
        self.parens -= not level.case
        self.bare_joins += level.join_open
        parent = self.stack[-1]
        parent.item_child = max(parent.item_child, level.depth())

    def close_paren(self) -> None:
        """A ``)`` closes the innermost parenthesis and any CASE left open inside it."""
        if self.parens == 0:
            return
        while self.stack[-1].case:
            self.close()
        self.close()

    def word(self, low: str) -> None:
        """Count one keyword or identifier (lower-cased)."""
        level = self.stack[-1]
        if level.case and low in _CASE_BRANCHES:
            level.end_item()  # sibling branches: the deepest one counts, not their sum
        elif level.case and low == "end":
            self.close()
        elif low in _JOINS:
            self.bare_joins += level.join_open  # the previous JOIN met no ON or USING before this one
            level.join_open = True
            level.end_item()  # joined tables are siblings in one list, not a chain
        elif low in _JOIN_CONDITIONS:
            level.join_open = False
        else:
            level.item_ops += low in _WORD_OPS
            level.set_ops += low in _SET_OPS
            if low == "case":
                self.open(case=True)

    def finish(self) -> int:
        """Close every open level; the estimated depth of the whole text."""
        while len(self.stack) > 1:
            self.close()
        self.bare_joins += self.stack[0].join_open
        self.stack[0].join_open = False
        return self.stack[0].depth()


def _operators(token: str) -> int:
    """The operators that one non-word token adds: every operator character (``.``, unary runs)."""
    first = token[0]
    if first in _SKIP or token.startswith(("--", "/*")) or first.isdigit():
        return 0
    return len(token)


def _is_word(token: str) -> bool:
    first = token[0]
    return first.isalpha() or first == "_" or first >= "\x80"


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
_PUNCT_BYTES = bytes(c for c in range(128) if _PUNCT.match(chr(c)))  # the same characters, for bytes.translate
_WORD_RUN = re.compile(r"\w+")
# What each word adds to the bound: an operator word 1, CASE also its level (CASE_WEIGHT).
_WORD_WEIGHTS = {**dict.fromkeys(_WORD_OPS | _SET_OPS, 1), "case": 1 + CASE_WEIGHT}


def surely_shallow(sql: str) -> bool:
    """True when whole-text counts prove :func:`check_sql` accepts ``sql``: no token scan needed.

    The scan's depth estimate along any path adds each operator, set operation and level at most
    once (a bracket level 1, a CASE level ``CASE_WEIGHT``), so ``operator characters + operator words +
    opening brackets + CASE_WEIGHT x CASE words + 1`` bounds it; brackets and JOINs without ON are
    bounded by the counts of brackets and JOIN words. Counted over ASCII text (other text goes to the
    scan) with C-level string methods and one word split, this settles most real statements many times
    faster than the scan. Each counted unit is at least one character of its own (an operator word
    weighs at most its length), so text shorter than ``MAX_TREE_DEPTH`` needs only the bracket and
    JOIN counts.

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
    words = None
    if lower.count("join") > MAX_JOINS:  # an upper bound of the JOIN words; count them when it is not enough
        words = _WORD_RUN.findall(lower)
        if sum(map(_JOINS.__contains__, words)) > MAX_JOINS:
            return False
    if len(sql) < MAX_TREE_DEPTH:
        return True
    raw = sql.encode("ascii")
    punct = len(raw) - len(raw.translate(None, _PUNCT_BYTES))
    weight = sum(map(_WORD_WEIGHTS.get, words if words is not None else _WORD_RUN.findall(lower), _ZEROS))
    return punct + weight + opens + 1 <= MAX_TREE_DEPTH


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
    scan = _Scan()
    for m in _TOKEN.finditer(sql):
        token = m.group()
        if token in _OPEN:
            if bounded and scan.parens >= MAX_PAREN_DEPTH:
                return scan.parens + 1, f"too_deep: parentheses nested deeper than {MAX_PAREN_DEPTH}"
            scan.open(case=False)
        elif token in _CLOSE:
            scan.close_paren()
        elif token == ",":
            scan.stack[-1].end_item()
        elif _is_word(token):
            scan.word(token.lower())
        else:
            scan.stack[-1].item_ops += _operators(token)
        if bounded:
            reason = _bound_hit(scan)
            if reason:
                return MAX_TREE_DEPTH + 1, reason
    depth = scan.finish()
    if bounded and scan.bare_joins > MAX_JOINS:
        return depth, f"too_deep: more than {MAX_JOINS} JOINs without ON or USING"
    if bounded and depth > MAX_TREE_DEPTH:
        return depth, f"too_deep: expression deeper than {MAX_TREE_DEPTH}"
    return depth, None


def _bound_hit(scan: _Scan) -> str | None:
    """The reason to stop early: lower bounds of the final estimate that already pass a limit."""
    level = scan.stack[-1]
    if level.item_ops + level.set_ops > MAX_TREE_DEPTH or scan.cases * (CASE_WEIGHT + 1) > MAX_TREE_DEPTH:
        return f"too_deep: expression deeper than {MAX_TREE_DEPTH}"
    if scan.bare_joins > MAX_JOINS:
        return f"too_deep: more than {MAX_JOINS} JOINs without ON or USING"
    return None
