"""Clause components of a query, normalised for order-independent comparison.

Each clause becomes a multiset of canonical strings (ORDER BY keeps
positions). Canonical form: identifiers lower-cased, table qualifiers and
output aliases dropped, operands of symmetric comparisons (``=``, ``<>``)
sorted, and ``AND`` split into separate predicates. ``BETWEEN a AND b`` is
one predicate.

>>> c = clause_components(
...     "SELECT T1.Name, count(*) FROM emp AS T1 JOIN dept AS T2 ON T2.id = T1.dept_id "
...     "WHERE T1.age > 30 AND T1.city = 'Paris' GROUP BY T1.name"
... )
>>> sorted(c["select"])
['count(this=*,big_int=true)', 'name']
>>> sorted(c["where"])
["'Paris' = city", 'gt(this=age,expression=30)']
>>> c["tables"], c["join_conditions"]
(('dept', 'emp'), ('dept_id = id',))
>>> clause_components("SELECT count(*) FROM singer")["tables"]
('singer',)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlglot import exp

from extensions._util.log import log_once
from extensions.sql.memo import memoize, text_bytes
from extensions.sql.parse import PARSE_CACHE_BYTES, PARSE_CACHE_ENTRIES, parse_sql, tree_bytes

log = logging.getLogger(__name__)

CLAUSES: tuple[str, ...] = (
    "select",
    "where",
    "tables",
    "join_conditions",
    "group_by",
    "having",
    "order_by",
    "limit",
    "set_ops",
)
# A warm-up fills at most a quarter of the parse cache, so it never evicts what it has just warmed.
WARM_STATEMENTS = PARSE_CACHE_ENTRIES // 4
WARM_BYTES = PARSE_CACHE_BYTES // 4


def _canon(node: object) -> str:
    """A canonical text for an expression: a cheap recursive walk, no copy, no SQL generation."""
    if isinstance(node, exp.Column):
        return "*" if isinstance(node.this, exp.Star) else node.name.lower()
    if isinstance(node, (exp.Alias, exp.Paren)):
        return _canon(node.this)
    if isinstance(node, exp.Identifier):
        return node.name.lower()
    if isinstance(node, exp.Literal):
        return repr(node.this) if node.is_string else str(node.this)
    if isinstance(node, exp.Star):
        return "*"
    if isinstance(node, (exp.EQ, exp.NEQ)):
        a, b = sorted((_canon(node.left), _canon(node.right)))
        return f"{a} {'=' if isinstance(node, exp.EQ) else '<>'} {b}"
    if isinstance(node, exp.Expression):
        parts = []
        for k, v in node.args.items():
            if v is None or v is False or (isinstance(v, list) and not v):
                continue
            if isinstance(v, list):
                parts.append(k + "=[" + ",".join(_canon(x) for x in v) + "]")
            else:
                parts.append(k + "=" + _canon(v))
        return node.key + "(" + ",".join(parts) + ")"
    return str(node).lower()


def _conjuncts(cond: exp.Expression | None) -> list[exp.Expression]:
    if cond is None:
        return []
    if isinstance(cond, exp.Paren) and isinstance(cond.this, exp.And):
        cond = cond.this
    if isinstance(cond, exp.And):
        return _conjuncts(cond.left) + _conjuncts(cond.right)
    return [cond]


def _first_select(e: exp.Expression) -> exp.Select | None:
    while isinstance(e, exp.SetOperation):
        e = e.left
    if isinstance(e, exp.Subquery):
        e = e.this
    return e if isinstance(e, exp.Select) else None


def _components_bytes(value: dict[str, tuple[str, ...]] | None) -> int:
    return sum(text_bytes(*v) for v in value.values()) if value else 0


@memoize(8192, 32 * 2**20, value_bytes=_components_bytes)
def _components(sql: str) -> dict[str, tuple[str, ...]] | None:
    parsed = parse_sql(sql)
    if not parsed.ok or not parsed.is_query:
        return None
    root = parsed.expression
    assert root is not None
    out: dict[str, list[str]] = {c: [] for c in CLAUSES}
    set_ops = []
    e: exp.Expression = root
    while isinstance(e, exp.SetOperation):
        kind = type(e).__name__.lower()
        set_ops.append(kind + ("" if e.args.get("distinct", True) else "_all"))
        e = e.left
    out["set_ops"] = sorted(set_ops)
    sel = _first_select(root)
    if sel is None:
        return {c: tuple(v) for c, v in out.items()}
    out["select"] = [_canon(x) for x in sel.expressions]
    out["where"] = [_canon(x) for x in _conjuncts(sel.args.get("where") and sel.args["where"].this)]
    having = sel.args.get("having")
    out["having"] = [_canon(x) for x in _conjuncts(having.this if having else None)]
    tables = []
    from_ = sel.args.get("from_") or sel.args.get("from")
    if from_ is not None:
        for t in from_.find_all(exp.Table):
            tables.append(t.name.lower())
    conds = []
    for j in sel.args.get("joins") or []:
        if isinstance(j.this, exp.Table):
            tables.append(j.this.name.lower())
        elif j.this is not None:
            for t in j.this.find_all(exp.Table):
                tables.append(t.name.lower())
        conds.extend(_canon(c) for c in _conjuncts(j.args.get("on")))
        for u in j.args.get("using") or []:
            conds.append(f"using {u.name.lower()}")
    # Every table the FROM clause and its joins read, a single one too (the wrong table is a wrong
    # query). Implicit joins (FROM a, b WHERE a.x = b.y) list both; their condition stays in WHERE.
    out["tables"] = sorted(tables)
    out["join_conditions"] = sorted(conds)
    group = sel.args.get("group")
    out["group_by"] = [_canon(x) for x in (group.expressions if group else [])]
    order = sel.args.get("order") or (root.args.get("order") if root is not sel else None)
    if order is not None:
        out["order_by"] = [
            f"{i}:{_canon(o.this)}:{'desc' if o.args.get('desc') else 'asc'}" for i, o in enumerate(order.expressions)
        ]
    limit = sel.args.get("limit") or (root.args.get("limit") if root is not sel else None)
    if limit is not None:
        out["limit"] = [_canon(limit.expression if limit.expression is not None else limit)]
    return {c: tuple(v) for c, v in out.items()}


def clause_components(sql: str) -> dict[str, tuple[str, ...]] | None:
    """Canonical clause components of a query; never raises.

    Args:
        sql: one query.

    Returns:
        ``{clause: components}`` for every name in ``CLAUSES``, or None when ``sql`` is not a parseable query.

    >>> clause_components("SELECT a FROM t ORDER BY a DESC")["order_by"]
    ('0:a:desc',)
    """
    try:
        return _components(sql) if isinstance(sql, str) else None
    except RecursionError:
        return None
    except Exception as exc:  # sqlglot corner cases: no structural credit, logged once
        log_once(
            log, f"clauses:{type(exc).__name__}", "clause analysis failed (%r); no structural credit for this SQL", exc
        )
        return None


def warm_components(
    statements: Iterable[object], *, max_statements: int = WARM_STATEMENTS, max_bytes: int = WARM_BYTES
) -> int:
    """Analyse a batch's statements in one pass, before they are scored one by one; never raises.

    Parsing and splitting a batch's statements back to back, rather than interleaved with the
    rest of each sample's scoring, is measurably faster (``bench engine``'s shaping callers).
    Later :func:`clause_components` and :func:`~extensions.sql.parse.parse_sql` calls on the same
    text are cache hits with the same values. The pass stops once its parse trees reach
    ``max_bytes`` or ``max_statements``, so it never evicts what it has just warmed; the rest is
    analysed when scored, as without a warm-up.

    Args:
        statements: the statements (repeats and non-text are skipped).
        max_statements: the most distinct statements analysed.
        max_bytes: the most parse-cache bytes the analysed statements may take.

    Returns:
        How many distinct statements were analysed.

    >>> warm_components(["SELECT a FROM t", "SELECT a FROM t", None, "SELECT b FROM t"])
    2
    """
    done = spent = 0
    for sql in dict.fromkeys(s for s in statements if isinstance(s, str)):
        if done >= max_statements or spent >= max_bytes:
            break
        spent += tree_bytes(parse_sql(sql))
        clause_components(sql)
        done += 1
    return done


def f1(pred: tuple[str, ...], gold: tuple[str, ...]) -> float:
    """Multiset F1 between two component lists.

    Args:
        pred: the prediction's components.
        gold: the gold query's components.

    Returns:
        F1 of the multiset overlap; 1.0 when both are empty.

    >>> f1(("a", "b", "b"), ("b", "b", "c"))
    0.6666666666666666
    """
    if not pred and not gold:
        return 1.0
    if not pred or not gold:
        return 0.0
    if pred == gold:
        return 1.0
    remaining: dict[str, int] = {}
    for x in gold:
        remaining[x] = remaining.get(x, 0) + 1
    overlap = 0
    for x in pred:
        n = remaining.get(x, 0)
        if n:
            remaining[x] = n - 1
            overlap += 1
    if overlap == 0:
        return 0.0
    p, r = overlap / len(pred), overlap / len(gold)
    return 2 * p * r / (p + r)
