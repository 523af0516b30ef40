"""Clause-by-clause structural credit.

The score is the weighted mean of per-clause F1 over the clauses present in
*either* query, in [0, 1]. A clause both queries lack is left out entirely:
no free credit for agreeing on absence. Unparseable SQL scores 0. The tables a
query reads count as a clause, a single table too: reading the wrong table is
a wrong query, whatever else matches.

The clause weights live in one mapping keyed by :data:`extensions.sql.clauses.CLAUSES`;
:data:`extensions.defaults.reward.DEFAULT_WEIGHTS` holds their defaults (``reward.structural_weights``
overrides them).

>>> r = StructuralReward()
>>> r.compute("SELECT name FROM t WHERE a = 1 AND b = 2", "SELECT name FROM t WHERE b = 2 AND a = 1")
RewardResult(score=1.0, details={'select': 1.0, 'where': 1.0, 'tables': 1.0, 'present': ['select', 'where', 'tables'], \
'error': None})
>>> round(r.compute("SELECT count(*) FROM stadium", "SELECT count(*) FROM singer"), 3)
0.5
"""

from __future__ import annotations

from collections.abc import Mapping

from extensions._util.cache import ResultCache
from extensions.defaults.reward import DEFAULT_WEIGHTS, clause_weights
from extensions.rewards.base import RewardResult
from extensions.sql.clauses import CLAUSES, clause_components, f1

assert tuple(DEFAULT_WEIGHTS) == CLAUSES


class StructuralReward:
    """Weighted clause F1 against the gold query, in [0, 1].

    Args:
        select_weight / where_weight / join_weight: the SELECT, WHERE and JOIN-condition weights
            (None: the default); kept for the keyword form ``StructuralReward(select_weight=0.3, ...)``.
        weights: weights by clause name (see :data:`DEFAULT_WEIGHTS`); the other keywords override them.
        tables_weight / group_by_weight / having_weight / order_by_weight / limit_weight / set_ops_weight:
            the weight of that clause (None: the default).

    Raises:
        ValueError: an unknown clause or a negative weight.
    """

    name = "structural"

    def __init__(
        self,
        select_weight: float | None = None,
        where_weight: float | None = None,
        join_weight: float | None = None,
        *,
        weights: Mapping[str, float] | None = None,
        tables_weight: float | None = None,
        group_by_weight: float | None = None,
        having_weight: float | None = None,
        order_by_weight: float | None = None,
        limit_weight: float | None = None,
        set_ops_weight: float | None = None,
    ) -> None:
        named = {
            "select": select_weight,
            "where": where_weight,
            "join_conditions": join_weight,
            "tables": tables_weight,
            "group_by": group_by_weight,
            "having": having_weight,
            "order_by": order_by_weight,
            "limit": limit_weight,
            "set_ops": set_ops_weight,
        }
        self.weights = clause_weights({**(weights or {}), **{k: v for k, v in named.items() if v is not None}})

    def compute(self, generated_sql: str, ground_truth_sql: str) -> RewardResult:
        """Weighted clause F1 of ``generated_sql`` against ``ground_truth_sql``, in [0, 1]."""
        key = (generated_sql, ground_truth_sql, tuple(self.weights.items()))
        score, details = _CACHE.get_or_compute(key, lambda: _score(*key), cost=lambda v: _cost(key))[0]
        return RewardResult(score, {**details, "present": list(details["present"])})


# Recent comparisons, bounded in bytes: the two statements, the weights and the details dict.
_CACHE: ResultCache[tuple[float, dict]] = ResultCache(8192, 32 * 1024 * 1024)


def _cost(key: tuple) -> int:
    return 1024 + 2 * (len(key[0]) + len(key[1])) if isinstance(key[0], str) and isinstance(key[1], str) else 1024


def clear_cache() -> None:
    """Forget recent comparisons."""
    _CACHE.clear()


def _score(generated_sql: str, ground_truth_sql: str, weights: tuple[tuple[str, float], ...]) -> tuple[float, dict]:
    """Weighted clause F1, cached per (prediction, gold, weights); callers copy the details."""
    pred = clause_components(generated_sql)
    gold = clause_components(ground_truth_sql)
    if pred is None or gold is None:
        return 0.0, {"present": [], "error": "pred_unparseable" if pred is None else "gold_unparseable"}
    num = den = 0.0
    details: dict = {}
    present = []
    for clause, w in weights:
        if not pred[clause] and not gold[clause]:
            continue
        score = f1(pred[clause], gold[clause])
        details[clause] = round(score, 6)
        present.append(clause)
        num += w * score
        den += w
    details["present"] = present
    details["error"] = None
    return (num / den if den > 0 else 0.0), details
