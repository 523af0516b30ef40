"""Spider's hardness levels (easy / medium / hard / extra), computed on the sqlglot AST.

Follows the counting rules of the official ``evaluation.py`` (``count_component1``,
``count_component2``, ``count_others``) on the outermost query:

* component1: WHERE, GROUP BY, ORDER BY, LIMIT, each JOIN, each OR, each LIKE;
* component2: nested queries (subqueries in conditions, and set operations);
* others: more than one aggregate, more than one SELECT item, more than one
  WHERE condition, more than one GROUP BY item.

Returns ``"unknown"`` for SQL that does not parse.

>>> spider_hardness("SELECT count(*) FROM singer")
'easy'
>>> spider_hardness("SELECT name FROM singer WHERE age > (SELECT avg(age) FROM singer)")
'hard'
"""

from __future__ import annotations

from sqlglot import exp

from extensions.sql.memo import memoize
from extensions.sql.parse import parse_sql

_AGGS = (exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max)


def _first_select(e: exp.Expression) -> exp.Select | None:
    while isinstance(e, exp.SetOperation):
        e = e.left
    return e if isinstance(e, exp.Select) else None


def _own(node: exp.Expression, select: exp.Select) -> bool:
    p = node.parent
    while p is not None and p is not select:
        if isinstance(p, (exp.Select, exp.Subquery)):
            return False
        p = p.parent
    return True


def _conditions(cond: exp.Expression | None) -> list[exp.Expression]:
    if cond is None:
        return []
    if isinstance(cond, exp.Paren):
        return _conditions(cond.this)
    if isinstance(cond, exp.Connector):
        return _conditions(cond.left) + _conditions(cond.right)
    return [cond]


@memoize(8192, 16 * 2**20)
def spider_hardness(sql: str) -> str:
    """Spider's hardness label of ``sql``; never raises.

    Args:
        sql: one query.

    Returns:
        ``"easy"``, ``"medium"``, ``"hard"``, ``"extra"``, or ``"unknown"`` when it does not parse.

    >>> spider_hardness("SELECT name FROM singer ORDER BY age LIMIT 3")
    'medium'
    """
    try:
        return _hardness(sql)
    except RecursionError:
        return "unknown"


def _hardness(sql: str) -> str:
    parsed = parse_sql(sql)
    if not parsed.ok or parsed.expression is None:
        return "unknown"
    root = parsed.expression
    sel = _first_select(root)
    if sel is None:
        return "unknown"
    where = sel.args.get("where")
    having = sel.args.get("having")
    group = sel.args.get("group")
    order = sel.args.get("order") or root.args.get("order")
    limit = sel.args.get("limit") or root.args.get("limit")
    joins = sel.args.get("joins") or []
    on_conds = [j.args.get("on") for j in joins if j.args.get("on") is not None]

    comp1 = sum(x is not None for x in (where, group, order, limit)) + len(joins)
    bool_roots = [
        c for c in [where.this if where else None, having.this if having else None, *on_conds] if c is not None
    ]
    for c in bool_roots:
        comp1 += sum(1 for o in c.find_all(exp.Or) if _own(o, sel))
        comp1 += sum(1 for lk in c.find_all(exp.Like) if _own(lk, sel))

    comp2 = 0
    e: exp.Expression = root
    while isinstance(e, exp.SetOperation):
        comp2 += 1
        e = e.left
    for c in bool_roots:
        comp2 += sum(1 for s in c.find_all(exp.Select) if s.parent is not None and _own(s.parent, sel))

    aggs = sum(1 for a in sel.find_all(*_AGGS) if _own(a, sel))
    where_conds = _conditions(where.this) if where else []
    others = int(aggs > 1) + int(len(sel.expressions) > 1) + int(len(where_conds) > 1)
    others += int(group is not None and len(group.expressions) > 1)

    if comp1 <= 1 and others == 0 and comp2 == 0:
        return "easy"
    if (others <= 2 and comp1 <= 1 and comp2 == 0) or (comp1 <= 2 and others < 2 and comp2 == 0):
        return "medium"
    if (
        (others > 2 and comp1 <= 2 and comp2 == 0)
        or (2 < comp1 <= 3 and others <= 2 and comp2 == 0)
        or (comp1 <= 1 and others == 0 and comp2 <= 1)
    ):
        return "hard"
    return "extra"
