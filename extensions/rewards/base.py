"""The reward protocol shared by every component.

A component is anything with ``compute(...) -> RewardResult``. A
:class:`RewardResult` *is* a float (its score), so ``SchemaAwareReward().compute(...)``
compares and adds like a number, and it also carries ``details`` for logging.

>>> r = RewardResult(-0.5, {"unknown_tables": ["customers"]})
>>> r == -0.5, r.score, r.details["unknown_tables"]
(True, -0.5, ['customers'])
"""

from __future__ import annotations

import math
from typing import Any, Protocol, runtime_checkable


class RewardResult(float):
    """A score (the float value itself) with a ``details`` dict."""

    details: dict[str, Any]

    def __new__(cls, score: float, details: dict[str, Any] | None = None) -> "RewardResult":
        value = float(score)
        if not math.isfinite(value):
            value = 0.0
        obj = super().__new__(cls, value)
        obj.details = dict(details or {})
        return obj

    @property
    def score(self) -> float:
        return float(self)

    def __repr__(self) -> str:
        return f"RewardResult(score={float(self)!r}, details={self.details!r})"

    def __reduce__(self):  # keep details through pickling (process pools)
        return (RewardResult, (float(self), self.details))


@runtime_checkable
class BaseReward(Protocol):
    """Protocol for reward components: ``compute(...)`` returns a :class:`RewardResult`.

    Users add their own component by writing a class with this method and a
    ``name`` attribute, then passing it to ``RewardComputer(extra_components=[...])``.
    Extra components are called as ``compute(sql, gold_sql, schema=schema)``.
    """

    name: str

    def compute(self, *args: Any, **kwargs: Any) -> RewardResult: ...


def finite(x: object, default: float = 0.0) -> float:
    """``float(x)`` if it is a finite number, else ``default``."""
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return default
    return v if math.isfinite(v) else default
