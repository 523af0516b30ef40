"""One rollout (a completion scored against its gold), evaluated lazily: each fact is computed once, on demand.

The combiner builds a :class:`Rollout` from the extraction and the execution verdict; the presets
and the shaping components read its properties. Parsing, the syntax verdict and the structural
comparison run only when a preset or a component asks for them, and then only once.

>>> from extensions.sql.extract import extract_sql
>>> r = Rollout(extract_sql("```sql\\nSELECT a FROM t\\n```"), "SELECT a FROM t WHERE b = 1", None)
>>> r.format_ok, r.executed, r.syntax_valid, round(r.structural, 3)
(True, False, True, 0.667)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from extensions.execution.status import Status
from extensions.rewards.base import RewardResult
from extensions.rewards.result import soft_f1
from extensions.rewards.structural import StructuralReward
from extensions.rewards.syntax import syntax_verdict
from extensions.sql.extract import Extraction

if TYPE_CHECKING:
    from extensions.execution.engine import MatchResult

# Outcomes that say nothing about the completion: the sample itself cannot be verified.
BROKEN_STATUSES = frozenset({Status.DB_MISSING, Status.DB_CORRUPT, Status.GOLD_ERROR, Status.INTERNAL_ERROR})

_DEFAULT_STRUCTURAL = StructuralReward()


@dataclass(eq=False)
class Rollout:
    """Everything known about one completion, shared by every preset and component.

    Args:
        extraction: the SQL and format verdict pulled from the completion.
        gold_sql: the gold query ("" when the ground truth has none).
        match: the execution verdict, or None when nothing was executed.
        status: the outcome; defaults to ``match.status`` (``db_missing`` without a match).
        structural_reward: the clause weights for :attr:`structural`.
    """

    extraction: Extraction
    gold_sql: str
    match: MatchResult | None
    status: Status | None = None
    structural_reward: StructuralReward = _DEFAULT_STRUCTURAL

    def __post_init__(self) -> None:
        if self.status is None:
            self.status = self.match.status if self.match is not None else Status.DB_MISSING

    @property
    def sql(self) -> str | None:
        return self.extraction.sql

    @property
    def format_ok(self) -> bool:
        return self.extraction.format_ok

    @property
    def executed(self) -> bool:
        """The prediction ran and returned rows (whatever their value)."""
        return self.match is not None and self.match.executed

    @property
    def exec_match(self) -> bool:
        return self.match is not None and self.match.match

    @property
    def gold_error(self) -> bool:
        return self.status is Status.GOLD_ERROR

    @property
    def correct(self) -> bool:
        """Result-correct: the format is valid and the result matches the gold result."""
        return self.format_ok and self.exec_match

    @property
    def broken(self) -> bool:
        """Nothing can verify this sample (missing or corrupt database, failing gold, internal error)."""
        return self.status in BROKEN_STATUSES

    @cached_property
    def syntax(self) -> tuple[bool, str]:
        """(valid, reason): one read-only query that sqlglot parses and SQLite compiled, when it ran."""
        pred = self.match.pred if self.match is not None else None
        return syntax_verdict(self.sql, pred.status if pred is not None else None)

    @cached_property
    def syntax_valid(self) -> bool:
        return self.syntax[0]

    @cached_property
    def structural_result(self) -> RewardResult | None:
        """Clause-level comparison with the gold, or None when either side is missing."""
        if not self.sql or not self.gold_sql:
            return None
        return self.structural_reward.compute(self.sql, self.gold_sql)

    @cached_property
    def structural(self) -> float:
        """Weighted clause F1 with the gold, in [0, 1]."""
        r = self.structural_result
        return r.score if r is not None else 0.0

    @cached_property
    def result_f1(self) -> float:
        """Soft F1 of the predicted result table against the gold one (0.0 unless both ran)."""
        m = self.match
        if m is None or not self.executed or m.gold is None or m.gold.rows is None or m.pred is None:
            return 0.0
        return soft_f1(m.pred.rows, m.gold.rows)
