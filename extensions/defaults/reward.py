"""The reward's shared names and defaults: preset names and clause weights.

:data:`PRESET_NAMES` are the values ``reward.baseline`` accepts; :mod:`extensions.rewards.presets` defines a
preset for each. :data:`DEFAULT_WEIGHTS` are the structural credit's clause weights, keyed by the clauses of
:data:`extensions.sql.clauses.CLAUSES` in that order.

>>> PRESET_NAMES
('sql_r1', 'arctic', 'reasoning_sql', 'combined')
>>> clause_weights({"tables": 0.5})["tables"], clause_weights()["select"]
(0.5, 0.3)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

PRESET_NAMES: tuple[str, ...] = ("sql_r1", "arctic", "reasoning_sql", "combined")

DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "select": 0.3,
        "where": 0.3,
        "tables": 0.3,
        "join_conditions": 0.1,
        "group_by": 0.1,
        "having": 0.05,
        "order_by": 0.1,
        "limit": 0.05,
        "set_ops": 0.05,
    }
)


def clause_weights(weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """The full clause-weight mapping: :data:`DEFAULT_WEIGHTS` updated with ``weights``.

    Args:
        weights: some clauses of :data:`DEFAULT_WEIGHTS` and their weights (>= 0).

    Returns:
        A weight for every clause, in :data:`DEFAULT_WEIGHTS` order.

    Raises:
        ValueError: an unknown clause or a negative weight (the message names it).

    >>> clause_weights({"limit": 0.2})["limit"]
    0.2
    """
    out = dict(DEFAULT_WEIGHTS)
    for clause, w in (weights or {}).items():
        if clause not in out:
            raise ValueError(f"unknown clause {clause!r}; expected one of {', '.join(DEFAULT_WEIGHTS)}")
        if not float(w) >= 0:
            raise ValueError(f"structural weight of {clause!r} must be >= 0 (got {w!r})")
        out[clause] = float(w)
    return out
