"""Result comparison semantics.

``spider``
    The official Spider test-suite ``eval_exec_match``: rows compared as a
    multiset (as a list when the gold SQL text contains ``order by``), any
    permutation of columns accepted, two empty results equal. DISTINCT
    removal (``keep_distinct=False``) happens before execution, see
    :func:`prepare_sql`.
``bird``
    BIRD's evaluator: ``set(pred) == set(gold)``; column order matters,
    duplicates and row order do not.
``strict``
    Exact rows in column order, compared as a multiset, or as a list when the
    gold query has a top-level ORDER BY.

>>> results_match([(1, 'a'), (2, 'b')], [('b', 2), ('a', 1)], semantics="spider", gold_sql="SELECT ...")
True
>>> results_match([(1, 'a')], [('a', 1)], semantics="bird", gold_sql="SELECT ...")
False
>>> results_match([(1,), (1,)], [(1,)], semantics="bird", gold_sql="SELECT ...")
True
>>> results_match([(1,), (1,)], [(1,)], semantics="strict", gold_sql="SELECT ...")
False
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from collections.abc import Sequence
from typing import Literal

from extensions.sql.normalize import has_top_level_order_by, remove_distinct, spider_postprocess

Semantics = Literal["spider", "bird", "strict"]
SEMANTICS: tuple[str, ...] = ("spider", "bird", "strict")

Rows = Sequence[tuple]


# Statements up to this length are memoised (at most _MEMO entries, so a few tens of MB at worst).
_MEMO_MAX_CHARS = 2048
_MEMO = 8192


def _rewrite(sql: str, semantics: str, keep_distinct: bool) -> str:
    if semantics == "spider":
        sql = spider_postprocess(sql)
        if not keep_distinct:
            sql = remove_distinct(sql)
    return sql


_prepare = functools.lru_cache(maxsize=_MEMO)(_rewrite)


def clear_memo() -> None:
    """Forget the memoised rewrites of :func:`prepare_sql` (process-wide)."""
    _prepare.cache_clear()


def prepare_sql(sql: str, *, semantics: Semantics, keep_distinct: bool = False) -> str:
    """Rewrite SQL before execution as the chosen evaluator does (Spider only); short statements are memoised.

    >>> prepare_sql("SELECT DISTINCT a FROM t WHERE b > = 1", semantics="spider")
    'SELECT  a FROM t WHERE b >= 1'
    """
    if len(sql) > _MEMO_MAX_CHARS:
        return _rewrite(sql, semantics, keep_distinct)
    return _prepare(sql, semantics, keep_distinct)


def spider_order_matters(prepared_gold_sql: str) -> bool:
    """The official rule: a plain substring test on the (post-processed) gold text."""
    return "order by" in prepared_gold_sql.lower()


def _unorder_row(row: tuple) -> tuple:
    return tuple(sorted(row, key=lambda x: str(x) + str(type(x))))


def _column_candidates(gold: Rows, pred: Rows, order_matters: bool) -> list[list[int]] | None:
    """For each gold column, the pred columns whose values could line up with it."""
    n = len(gold[0])
    if order_matters:
        gold_cols = [[r[i] for r in gold] for i in range(n)]
        pred_cols = [[r[j] for r in pred] for j in range(n)]
    else:
        gold_cols = [Counter(r[i] for r in gold) for i in range(n)]
        pred_cols = [Counter(r[j] for r in pred) for j in range(n)]
    cands = [[j for j in range(n) if gold_cols[i] == pred_cols[j]] for i in range(n)]
    return None if any(not c for c in cands) else cands


def spider_result_eq(gold: Rows, pred: Rows, *, order_matters: bool) -> bool:
    """True iff some column permutation of ``pred`` equals ``gold`` (as a bag or list).

    Same verdict as the official ``result_eq``; the permutation search is
    pruned with per-column value multisets instead of 20 random rows, which
    removes a source of randomness without changing any verdict (a matching
    permutation always satisfies both prunings).
    """
    if len(gold) == 0 and len(pred) == 0:
        return True
    if len(gold) != len(pred):
        return False
    n = len(gold[0])
    if len(pred[0]) != n:
        return False
    s1 = [_unorder_row(r) for r in gold]
    s2 = [_unorder_row(r) for r in pred]
    if (s1 != s2) if order_matters else (set(s1) != set(s2)):
        return False
    cands = _column_candidates(gold, pred, order_matters)
    if cands is None:
        return False
    gold_list = list(gold)
    gold_set = set(gold_list) if not order_matters else None
    gold_bag = Counter(gold_list) if not order_matters else None
    perm: list[int] = []
    used: set[int] = set()

    def search(i: int) -> bool:
        if i == n:
            permuted = [tuple(r[j] for j in perm) for r in pred] if n > 1 else list(pred)
            if order_matters:
                return permuted == gold_list
            return set(permuted) == gold_set and Counter(permuted) == gold_bag
        for j in cands[i]:
            if j not in used:
                used.add(j)
                perm.append(j)
                if search(i + 1):
                    return True
                perm.pop()
                used.discard(j)
        return False

    return search(0)


def results_match(
    gold: Rows,
    pred: Rows,
    *,
    semantics: Semantics = "spider",
    gold_sql: str = "",
    order_matters: bool | None = None,
) -> bool:
    """Compare two results under ``semantics``.

    ``order_matters`` overrides the rule derived from ``gold_sql``
    (for ``spider``: ``"order by"`` in its text; for ``strict``: a top-level
    ORDER BY; ``bird`` ignores order).
    """
    if semantics == "spider":
        om = spider_order_matters(gold_sql) if order_matters is None else order_matters
        return spider_result_eq(gold, pred, order_matters=om)
    if semantics == "bird":
        return set(pred) == set(gold)
    if semantics == "strict":
        om = has_top_level_order_by(gold_sql) if order_matters is None else order_matters
        if om:
            return list(pred) == list(gold)
        return Counter(pred) == Counter(gold)
    raise ValueError(f"unknown semantics {semantics!r}; allowed: {', '.join(SEMANTICS)}")


@dataclass(frozen=True)
class CompareOptions:
    """How a prediction is compared with its gold query; hashable, so it keys caches.

    Args:
        semantics: ``spider``, ``bird`` or ``strict`` (see the module docstring).
        keep_distinct: keep DISTINCT before execution (Spider removes it by default).
        empty_result_is_wrong: two empty results do not match.
        order_matters: overrides the row-order rule derived from the gold SQL.

    Raises:
        ValueError: unknown ``semantics``.

    >>> opts = CompareOptions(semantics="bird")
    >>> opts.matches([(1,), (1,)], [(1,)], gold_sql="SELECT x FROM t")
    True
    """

    semantics: Semantics = "spider"
    keep_distinct: bool = False
    empty_result_is_wrong: bool = False
    order_matters: bool | None = None

    def __post_init__(self) -> None:
        if self.semantics not in SEMANTICS:
            raise ValueError(f"unknown semantics {self.semantics!r}; allowed: {', '.join(SEMANTICS)}")

    def prepare(self, sql: str) -> str:
        """``sql`` rewritten as the chosen evaluator does before execution (:func:`prepare_sql`)."""
        return prepare_sql(sql, semantics=self.semantics, keep_distinct=self.keep_distinct)

    def matches(self, gold: Rows, pred: Rows, *, gold_sql: str) -> bool:
        """:func:`results_match` under these options (``gold_sql``: the prepared gold)."""
        return results_match(gold, pred, semantics=self.semantics, gold_sql=gold_sql, order_matters=self.order_matters)
