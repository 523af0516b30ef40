"""The reward's breakdown: one flat dict with the same keys for every sample and finite floats only.

verl builds its metric columns from the first sample's keys and TRL logs every key as a metric,
so a computer's breakdown never gains or loses a key, whatever the sample.

>>> b = Breakdown(("execution",), ())
>>> r = b.build(Scored(total=1.0, baseline=1.0, components={"execution": 1.0}), status="ok")
>>> r.total, r.breakdown["b_execution"], r.breakdown["status_ok"], r.breakdown["status_timeout"]
(1.0, 1.0, 1.0, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from extensions.execution.status import ALL_STATUSES
from extensions.rewards.base import RewardResult, finite

_FIXED_KEYS = (
    "score",
    "acc",
    "correct",
    "baseline",
    "format_ok",
    "executed",
    "schema",
    "structural",
    "structural_f1",
    "syntax",
    "result",
    "result_f1",
    "shaping",
    "hallucinations",
    "ambiguous",
    "pred_time_ms",
    "timeout_s",
    "broken",
)


@dataclass
class EnhancedRewardResult:
    """Total reward with its parts. ``breakdown`` has fixed keys and finite floats; ``details`` says why."""

    total: float
    baseline_total: float
    schema: float
    structural: float
    syntax: float
    correct: bool
    acc: float
    breakdown: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)

    def copy(self) -> EnhancedRewardResult:
        """A copy with its own ``breakdown`` and ``details`` dicts (what a repeated sample of a batch gets).

        Returns:
            The copy.

        >>> r = EnhancedRewardResult(1.0, 1.0, 0.0, 0.0, 0.0, True, 1.0, {"score": 1.0})
        >>> c = r.copy(); c.breakdown["score"] = 0.0; r.breakdown["score"]
        1.0
        """
        twin = object.__new__(EnhancedRewardResult)
        twin.__dict__.update(self.__dict__)
        twin.breakdown = self.breakdown.copy()
        twin.details = self.details.copy()
        return twin


@dataclass
class Scored:
    """What the stages of one rollout produced, before it is flattened into a breakdown.

    Args:
        total: the reward.
        baseline: the preset's (or callable's) sum.
        components: the preset's named parts.
        schema: the schema component, when computed.
        structural / structural_f1 / syntax: the shaping credit and the raw clause F1.
        result / result_f1: the result-table credit and the raw Soft F1 (wrong answers, ``result_weight > 0``).
        shaping: what shaping changed in the total.
        extras: user components by name.
        facts: booleans and measurements of the rollout (acc, correct, format_ok, executed, broken, pred_time_ms,
            timeout_s).
    """

    total: float
    baseline: float = 0.0
    components: dict[str, float] = field(default_factory=dict)
    schema: RewardResult | None = None
    structural: float = 0.0
    structural_f1: float = 0.0
    syntax: float = 0.0
    result: float = 0.0
    result_f1: float = 0.0
    shaping: float = 0.0
    extras: dict[str, float] = field(default_factory=dict)
    facts: dict[str, float] = field(default_factory=dict)


_SCORED_KEYS = ("score", "baseline", "structural", "structural_f1", "syntax", "shaping", "result", "result_f1")


class Breakdown:
    """Flattens :class:`Scored` into an :class:`EnhancedRewardResult` with a fixed key set.

    Args:
        components: the preset's component names (keys ``b_<name>``).
        extras: the names of user components (keys ``x_<name>``).
    """

    def __init__(self, components: tuple[str, ...], extras: tuple[str, ...]) -> None:
        self.keys: tuple[str, ...] = (
            _FIXED_KEYS
            + tuple(f"b_{c}" for c in components)
            + tuple(f"x_{x}" for x in extras)
            + tuple(f"status_{s}" for s in ALL_STATUSES)
        )
        self._zeros = dict.fromkeys(self.keys, 0.0)

    def build(self, s: Scored, *, status: str, details: dict[str, Any] | None = None) -> EnhancedRewardResult:
        """The result for ``s``; ``status`` is one of :data:`extensions.execution.status.ALL_STATUSES`."""
        b = self._zeros.copy()
        # ``v - v == 0.0`` is False for inf and nan: finite floats are kept, anything else goes through finite().
        scored = (s.total, s.baseline, s.structural, s.structural_f1, s.syntax, s.shaping, s.result, s.result_f1)
        for key, v in zip(_SCORED_KEYS, scored):
            b[key] = v if type(v) is float and v - v == 0.0 else finite(v)
        if s.schema is not None:
            b["schema"] = s.schema.score
            b["hallucinations"] = float(s.schema.details.get("hallucinations", 0))
            b["ambiguous"] = float(len(s.schema.details.get("ambiguous_columns", ())))
        for name, v in s.components.items():
            b[f"b_{name}"] = v if type(v) is float and v - v == 0.0 else finite(v)
        for name, v in s.extras.items():
            b[f"x_{name}"] = v if type(v) is float and v - v == 0.0 else finite(v)
        for name, v in s.facts.items():
            b[name] = v if type(v) is float and v - v == 0.0 else finite(v)
        b[f"status_{status}"] = 1.0
        details = details if details is not None else {}
        details["status"] = status
        return EnhancedRewardResult(
            b["score"],
            b["baseline"],
            b["schema"],
            b["structural"],
            b["syntax"],
            b["correct"] == 1.0,
            b["acc"],
            b,
            details,
        )
