"""Schema-aware penalty for hallucinated tables and columns.

>>> schema = {'tables': {'employees': {'columns': ['id', 'name', 'salary', 'department']}}}
>>> SchemaAwareReward(weight=-0.5).compute("SELECT name FROM customers", schema)
RewardResult(score=-0.5, details={'unknown_tables': ['customers'], 'unknown_columns': [], 'ambiguous_columns': [], 'hallucinations': 1, 'penalised': 1, 'error': None})
>>> SchemaAwareReward(weight=-0.5).compute("SELECT Name FROM Employees", schema) == 0.0
True
"""

from __future__ import annotations

from typing import Any

from extensions.errors import SchemaLoadError
from extensions.execution.introspect import load_schema
from extensions.rewards.base import RewardResult
from extensions.sql.resolve import Resolution, resolve_names


class SchemaAwareReward:
    """``weight`` x (number of unknown tables and columns), at most ``cap`` names counted.

    Ambiguous column references are reported in ``details`` but not penalised
    (``ambiguous_weight`` sets a separate penalty, default 0). SQL that cannot
    be parsed gets 0 here: the syntax component handles it.
    """

    name = "schema"

    def __init__(self, weight: float = -0.5, cap: int | None = 2, ambiguous_weight: float = 0.0) -> None:
        if weight > 0:
            raise ValueError("SchemaAwareReward.weight is a penalty and must be <= 0")
        self.weight = float(weight)
        self.cap = cap
        self.ambiguous_weight = float(ambiguous_weight)

    def from_resolution(self, res: Resolution) -> RewardResult:
        """The penalty for an already computed :class:`Resolution`.

        Args:
            res: the names found by :func:`resolve_names`.

        Returns:
            The score with the names in ``details``.

        >>> SchemaAwareReward(weight=-0.5).from_resolution(Resolution(unknown_tables=("x",))).score
        -0.5
        """
        n = res.count
        counted = n if self.cap is None else min(n, self.cap)
        score = self.weight * counted + self.ambiguous_weight * len(res.ambiguous_columns)
        return RewardResult(
            score,
            {
                "unknown_tables": list(res.unknown_tables),
                "unknown_columns": list(res.unknown_columns),
                "ambiguous_columns": list(res.ambiguous_columns),
                "hallucinations": n,
                "penalised": counted,
                "error": res.error,
            },
        )

    def compute(self, sql: str, schema: Any) -> RewardResult:
        """Penalty for ``sql`` against ``schema``; never raises.

        Args:
            sql: the predicted query.
            schema: a ``.sqlite`` path or any form :meth:`Schema.coerce` accepts.

        Returns:
            The penalty; an unreadable schema gives 0.0 with the reason in ``details['error']``.

        >>> SchemaAwareReward().compute("SELECT a FROM t", {"t": ["b"]}).details["unknown_columns"]
        ['a']
        """
        try:
            sch = load_schema(schema)
        except SchemaLoadError as exc:
            return RewardResult(
                0.0,
                {
                    "error": f"schema: {exc}",
                    "hallucinations": 0,
                    "penalised": 0,
                    "unknown_tables": [],
                    "unknown_columns": [],
                    "ambiguous_columns": [],
                },
            )
        return self.from_resolution(resolve_names(sql, sch))
