"""Clause-by-clause structural credit.

The score is the weighted mean of per-clause F1 over the clauses present in
*either* query, in [0, 1]. A clause both queries lack is left out entirely:
no free credit for agreeing on absence. Unparseable SQL scores 0.

>>> r = StructuralReward(select_weight=0.3, where_weight=0.3, join_weight=0.2)
>>> r.compute("SELECT name FROM t WHERE a = 1 AND b = 2", "SELECT name FROM t WHERE b = 2 AND a = 1")
RewardResult(score=1.0, details={'select': 1.0, 'where': 1.0, 'present': ['select', 'where'], 'error': None})
>>> round(r.compute("SELECT name FROM t", "SELECT name FROM t WHERE a = 1"), 3)
0.5
"""

from __future__ import annotations

from extensions._util.cache import ResultCache
from extensions.rewards.base import RewardResult
from extensions.sql.clauses import CLAUSES, clause_components, f1


class StructuralReward:
    name = "structural"

    def __init__(
        self,
        select_weight: float = 0.3,
        where_weight: float = 0.3,
        join_weight: float = 0.2,
        *,
        group_by_weight: float = 0.1,
        having_weight: float = 0.05,
        order_by_weight: float = 0.1,
        limit_weight: float = 0.05,
        set_ops_weight: float = 0.05,
    ) -> None:
        self.weights = {
            "select": select_weight,
            "where": where_weight,
            "join_tables": join_weight / 2,
            "join_conditions": join_weight / 2,
            "group_by": group_by_weight,
            "having": having_weight,
            "order_by": order_by_weight,
            "limit": limit_weight,
            "set_ops": set_ops_weight,
        }
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("structural weights must be >= 0")
        assert set(self.weights) == set(CLAUSES)

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
