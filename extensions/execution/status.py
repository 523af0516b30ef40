"""Typed outcomes of running SQL. Every call ends in one of these, never an exception."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from extensions._util.frozen import direct_init


class Status(str, enum.Enum):
    """Outcome of one execution (or of a prediction/gold comparison)."""

    OK = "ok"
    SYNTAX_ERROR = "syntax_error"  # SQLite could not compile the statement
    SCHEMA_ERROR = "schema_error"  # no such table / column, ambiguous column
    FORBIDDEN = "forbidden"  # write, DDL, ATTACH, PRAGMA write, several statements ...
    TIMEOUT = "timeout"  # the statement passed its VM-step budget (a verdict: deterministic, cached)
    TIMEOUT_WALL = "timeout_wall"  # the wall-clock backstop hit (load, a stopped worker): never cached, logged
    TIMEOUT_CPU = "timeout_cpu"  # the statement used more than its CPU seconds (a verdict: cached, never retried)
    TOO_LARGE = "too_large"  # row cap, value/blob cap, SQL length, memory limit
    TOO_DEEP = "too_deep"  # nested deeper than any parser may safely recurse; never parsed or run
    DB_MISSING = "db_missing"  # no such file
    DB_CORRUPT = "db_corrupt"  # not a SQLite file, malformed, or no tables
    GOLD_ERROR = "gold_error"  # the gold query itself failed (never a match)
    INTERNAL_ERROR = "internal_error"  # a bug or a dead worker; logged

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return self.value


ALL_STATUSES: tuple[str, ...] = tuple(s.value for s in Status)


@direct_init
@dataclass(frozen=True)
class ExecResult:
    """Result of executing one statement in the sandbox.

    ``rows`` is a tuple of row tuples when ``status`` is ``ok`` and ``None``
    otherwise. ``elapsed_s`` is SQLite's own time inside the worker
    (prepare + step + fetch), excluding transport. ``vm_steps`` is the number of
    VM instructions SQLite ran, counted by its progress handler (a multiple of
    its period, see ``Limits.progress_steps``); ``max_vm_steps`` is the budget the
    statement ran under (0: unknown). ``cpu_s`` is the CPU time of the thread that ran
    it and ``max_cpu_s`` its CPU budget (0: none). ``total_rows`` is set when the result
    was capped (``extensions.execution.budget.Cap``): ``rows`` then holds only the first
    rows, cut as the cap says, and ``total_rows`` counts them all.

    >>> ExecResult(Status.OK, rows=((1,),), vm_steps=2000).vm_steps
    2000
    """

    status: Status
    rows: tuple[tuple[Any, ...], ...] | None = None
    columns: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    detail: str = ""
    timeout_s: float = 0.0
    cached: bool = field(default=False, compare=False)
    vm_steps: int = 0
    max_vm_steps: int = 0
    cpu_s: float = field(default=0.0, compare=False)
    max_cpu_s: float = 0.0
    total_rows: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def as_cached(self) -> ExecResult:
        """This result marked as read from a cache: a copy with ``cached`` set (not part of equality).

        Returns:
            The copy (``self`` when already marked).

        >>> ExecResult(Status.OK, rows=()).as_cached().cached
        True
        """
        if self.cached:
            return self
        twin = object.__new__(ExecResult)
        twin.__dict__.update(self.__dict__)  # a frozen dataclass: copied without running __init__ again
        twin.__dict__["cached"] = True
        return twin

    @property
    def row_count(self) -> int:
        """Rows of the whole result (``total_rows`` when capped), 0 without rows."""
        if self.total_rows is not None:
            return self.total_rows
        return len(self.rows) if self.rows is not None else 0

    @property
    def n_cells(self) -> int:
        if not self.rows:
            return 1
        return len(self.rows) * max(1, len(self.rows[0]))
