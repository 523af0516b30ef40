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
from collections.abc import Sequence
from dataclasses import dataclass
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
    if semantics != "spider":  # only Spider's evaluator rewrites the text
        return sql
    if len(sql) > _MEMO_MAX_CHARS:
        return _rewrite(sql, semantics, keep_distinct)
    return _prepare(sql, semantics, keep_distinct)


def spider_order_matters(prepared_gold_sql: str) -> bool:
    """The official rule: a plain substring test on the (post-processed) gold text."""
    return "order by" in prepared_gold_sql.lower()


def _unorder_row(row: tuple) -> tuple:
    return tuple(sorted(row, key=lambda x: str(x) + str(type(x))))


# Row visits the column-permutation search may spend beyond one per cell (see :func:`spider_result_eq`).
MAX_COMPARE_STEPS = 2_000_000


class CompareLimit(Exception):
    """The column-permutation search of :func:`spider_result_eq` passed its step bound (no verdict)."""


def _column_key(values: Sequence) -> frozenset:
    """A column's value multiset, hashable."""
    return frozenset(Counter(values).items())


def _column_candidates(gold: Rows, pred: Rows) -> list[list[int]] | None:
    """For each gold column, the pred columns with the same value multiset (None: one has none)."""
    n = len(gold[0])
    by_key: dict[frozenset, list[int]] = {}
    for j in range(n):
        by_key.setdefault(_column_key([r[j] for r in pred]), []).append(j)
    cands = [by_key.get(_column_key([r[i] for r in gold]), []) for i in range(n)]
    return None if any(not c for c in cands) else cands


def _prefix_ids(gold: Rows) -> tuple[list[dict], list[Counter]]:
    """Per depth ``i``: the ids of gold's row prefixes of ``i + 1`` columns, and their counts at each depth."""
    interned: list[dict] = []
    counts: list[Counter] = []
    ids = [0] * len(gold)
    for i in range(len(gold[0])):
        d: dict = {}
        ids = [d.setdefault((ids[r], row[i]), len(d)) for r, row in enumerate(gold)]
        interned.append(d)
        counts.append(Counter(ids))
    return interned, counts


class _Search:
    """Depth-first assignment of pred columns to gold columns, pruned at every depth.

    A partial assignment survives only when the multiset of pred row prefixes equals
    gold's (a matching permutation passes every such check), and among pred columns
    with identical values only one is tried per depth (swapping them changes nothing).
    """

    def __init__(self, gold: Rows, pred: Rows, cands: list[list[int]], max_steps: int) -> None:
        self.pred, self.cands, self.rows = pred, cands, len(gold)
        self.interned, self.counts = _prefix_ids(gold)
        klass: dict[tuple, int] = {}
        self.klass = [klass.setdefault(tuple(r[j] for r in pred), len(klass)) for j in range(len(gold[0]))]
        self.max_steps = max_steps
        self.left = max_steps + self.rows * len(gold[0])

    def _extend(self, depth: int, ids: list[int], j: int) -> list[int] | None:
        """The pred prefix ids with column ``j`` at ``depth``, or None when they differ from gold's."""
        self.left -= self.rows
        if self.left < 0:
            raise CompareLimit(f"result comparison passed max_compare_steps={self.max_steps} (no verdict)")
        d = self.interned[depth]
        new = [d.get((ids[r], row[j])) for r, row in enumerate(self.pred)]
        if None in new or Counter(new) != self.counts[depth]:
            return None
        return new  # type: ignore[return-value]

    def run(self) -> bool:
        n = len(self.cands)
        used = [False] * n
        # One frame per depth: (prefix ids, candidates left to try, classes tried, column taken).
        stack: list[tuple[list[int], list[int], set[int], int]] = [([0] * self.rows, list(self.cands[0]), set(), -1)]
        while stack:
            ids, todo, tried, _ = stack[-1]
            if not todo:
                stack.pop()
                if stack:
                    used[stack[-1][3]] = False
                    stack[-1] = (*stack[-1][:3], -1)
                continue
            j = todo.pop(0)
            if used[j] or self.klass[j] in tried:
                continue
            tried.add(self.klass[j])
            new = self._extend(len(stack) - 1, ids, j)
            if new is None:
                continue
            if len(stack) == n:
                return True
            used[j] = True
            stack[-1] = (ids, todo, tried, j)
            stack.append((new, list(self.cands[len(stack)]), set(), -1))
        return False


def spider_result_eq(gold: Rows, pred: Rows, *, order_matters: bool, max_steps: int = MAX_COMPARE_STEPS) -> bool:
    """True iff some column permutation of ``pred`` equals ``gold`` (as a bag or list).

    Same verdict as the official ``result_eq``. With ``order_matters`` that is a
    matching of equal columns. Otherwise a depth-first search assigns pred columns
    to gold columns and keeps a partial assignment only when the multiset of row
    prefixes agrees with gold's (a matching permutation passes every such check),
    trying one of several identical pred columns only; so no randomness, and
    results that differ are usually rejected after a few columns.

    Args:
        gold, pred: the two results (tuples of equal width).
        order_matters: compare as lists (else as multisets).
        max_steps: row visits the search may spend beyond one per cell.

    Returns:
        Whether they match.

    Raises:
        CompareLimit: the search passed ``max_steps`` (the engine reports ``too_large``).

    >>> spider_result_eq([(1, None), (2, None)], [(None, 2), (None, 1)], order_matters=False)
    True
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
    if order_matters:  # the permuted rows equal gold's list iff each column equals its gold column
        columns = [Counter(tuple(r[j] for r in rows) for j in range(n)) for rows in (gold, pred)]
        return columns[0] == columns[1]
    cands = _column_candidates(gold, pred)
    if cands is None:
        return False
    return _Search(gold, pred, cands, max_steps).run()


def results_match(
    gold: Rows,
    pred: Rows,
    *,
    semantics: Semantics = "spider",
    gold_sql: str = "",
    order_matters: bool | None = None,
    max_steps: int = MAX_COMPARE_STEPS,
) -> bool:
    """Compare two results under ``semantics``.

    ``order_matters`` overrides the rule derived from ``gold_sql``
    (for ``spider``: ``"order by"`` in its text; for ``strict``: a top-level
    ORDER BY; ``bird`` ignores order). ``max_steps``: see :func:`spider_result_eq`,
    whose :class:`CompareLimit` passes through.
    """
    if semantics == "spider":
        om = spider_order_matters(gold_sql) if order_matters is None else order_matters
        return spider_result_eq(gold, pred, order_matters=om, max_steps=max_steps)
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
        max_compare_steps: row visits the Spider column-permutation search may spend beyond one per
            cell; past it the comparison gives no verdict (the engine reports ``too_large``).

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
    max_compare_steps: int = MAX_COMPARE_STEPS

    def __post_init__(self) -> None:
        if self.semantics not in SEMANTICS:
            raise ValueError(f"unknown semantics {self.semantics!r}; allowed: {', '.join(SEMANTICS)}")
        # The options key the engine's caches: hashed once, not once per lookup.
        fields = (self.semantics, self.keep_distinct, self.empty_result_is_wrong, self.order_matters)
        object.__setattr__(self, "_hash", hash((*fields, self.max_compare_steps)))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined, no-any-return]

    # A hash is only valid in the process that computed it (string hashing is salted): a copy
    # made by pickle hashes its fields again.
    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    def prepare(self, sql: str) -> str:
        """``sql`` rewritten as the chosen evaluator does before execution (:func:`prepare_sql`)."""
        if self.semantics != "spider":  # only Spider's evaluator rewrites the text
            return sql
        return prepare_sql(sql, semantics=self.semantics, keep_distinct=self.keep_distinct)

    def matches(self, gold: Rows, pred: Rows, *, gold_sql: str) -> bool:
        """:func:`results_match` under these options (``gold_sql``: the prepared gold)."""
        return results_match(
            gold,
            pred,
            semantics=self.semantics,
            gold_sql=gold_sql,
            order_matters=self.order_matters,
            max_steps=self.max_compare_steps,
        )
