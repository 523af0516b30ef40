"""Partial credit from the results: the Soft F1 between the predicted and the gold result tables.

The definition is BIRD Mini-Dev's soft F1. Duplicate rows are dropped, then the i-th predicted row is
compared with the i-th gold row: of the gold row's ``n`` cells, ``matched / n`` counts as true positive,
``(predicted cells not in the gold row) / n`` as false positive and ``(gold cells not in the predicted
row) / n`` as false negative. A gold row without a partner is one whole false negative, a predicted row
without a partner one whole false positive. F1 = 2PR / (P + R), with 1.0 when both tables are empty.

Extra rows cost precision, so returning a whole table never buys credit for a one-row answer.
One deliberate difference: BIRD drops duplicates through a set, whose order changes between runs;
here the first occurrence of each row keeps its place, so the verdict is deterministic.

>>> soft_f1([(1, "a")], [(1, "a")])
1.0
>>> soft_f1([(1, "b")], [(1, "a")])
0.5
>>> round(soft_f1([(i,) for i in range(10)], [(0,)]), 3)
0.182
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Row = Sequence[Any]


def _row_counts(pred: Row, gold: Row) -> tuple[float, float, float]:
    """(true positive, false positive, false negative) of one row pair, as fractions of the gold row."""
    n = len(gold)
    if pred == gold:
        return (1.0, 0.0, 0.0) if n else (0.0, 0.0, 0.0)
    if n == 0:
        return 0.0, float(len(pred) > 0), 0.0
    matched = sum(1 for v in pred if v in gold)
    missing = sum(1 for v in gold if v not in pred)
    return matched / n, (len(pred) - matched) / n, missing / n


def soft_f1(pred_rows: Iterable[Row] | None, gold_rows: Iterable[Row] | None) -> float:
    """BIRD Mini-Dev's Soft F1 of a predicted result table against the gold one, in [0, 1].

    Args:
        pred_rows: the prediction's rows (None: it produced none).
        gold_rows: the gold query's rows.

    Returns:
        The soft F1; 1.0 when both are empty, 0.0 when exactly one is.

    >>> soft_f1([], [])
    1.0
    >>> soft_f1([(1,)], [])
    0.0
    """
    pred = list(dict.fromkeys(tuple(r) for r in pred_rows or ()))
    gold = list(dict.fromkeys(tuple(r) for r in gold_rows or ()))
    if not pred and not gold:
        return 1.0
    tp = fp = fn = 0.0
    for i, g in enumerate(gold):
        if i < len(pred):
            t, p, n = _row_counts(pred[i], g)
            tp, fp, fn = tp + t, fp + p, fn + n
        else:
            fn += 1.0
    fp += max(0, len(pred) - len(gold))
    precision = tp / (tp + fp) if tp + fp > 0 else 0.0
    recall = tp / (tp + fn) if tp + fn > 0 else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
