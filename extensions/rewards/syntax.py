"""AST-level syntax check, plus SQLite's own prepare when a database is at hand.

Full credit (``weight``) only for a single, read-only query that sqlglot
parses in the SQLite dialect, and, with a database, that SQLite compiles
against the real schema. DELETE/UPDATE/INSERT/DDL/PRAGMA/ATTACH earn nothing.

>>> EnhancedSyntaxReward(weight=0.2).compute("SELECT name FROM t WHERE a > 1")
RewardResult(score=0.2, details={'valid': True, 'reason': 'ok'})
>>> EnhancedSyntaxReward(weight=0.2).compute("DELETE FROM t").details['reason']
'not_a_read_query'
>>> EnhancedSyntaxReward(weight=0.2).compute("SELECT FROM WHERE").score
0.0
"""

from __future__ import annotations

from typing import Any

from extensions.execution.status import Status
from extensions.rewards.base import RewardResult
from extensions.sql.parse import parse_sql

# Execution statuses that mean SQLite could not compile the statement.
COMPILE_FAILURES = frozenset({Status.SYNTAX_ERROR, Status.SCHEMA_ERROR, Status.FORBIDDEN})


def syntax_verdict(sql: Any, exec_status: Status | None = None) -> tuple[bool, str]:
    """(valid, reason) from the parse and, if known, the execution status."""
    parsed = parse_sql(sql)
    if parsed.error:
        return False, parsed.error
    if parsed.is_write or not parsed.is_query:
        return False, "not_a_read_query"
    if exec_status is not None and exec_status in COMPILE_FAILURES:
        return False, f"sqlite_{exec_status.value}"
    return True, "ok"


class EnhancedSyntaxReward:
    name = "syntax"

    def __init__(self, weight: float = 0.2) -> None:
        if weight < 0:
            raise ValueError("EnhancedSyntaxReward.weight must be >= 0")
        self.weight = float(weight)

    def compute(self, sql: str, db_path: str | None = None, *, engine: Any = None) -> RewardResult:
        """Score ``sql``; with ``db_path``, SQLite prepares it (``EXPLAIN``) in the sandbox."""
        status = None
        valid, reason = syntax_verdict(sql)
        if valid and db_path:
            from extensions.execution.engine import shared_engine

            eng = engine or shared_engine()
            status = eng.execute(db_path, "EXPLAIN " + sql).status
            if status in (Status.DB_MISSING, Status.DB_CORRUPT):
                status = None  # no usable database: keep the AST verdict
            valid, reason = syntax_verdict(sql, status)
        return RewardResult(self.weight if valid else 0.0, {"valid": valid, "reason": reason})
