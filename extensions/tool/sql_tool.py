"""``execute_sql(query)``: one read-only query on the sample's database, answered as a short text.

Every query runs through :class:`~extensions.execution.engine.ExecutionEngine`, the engine the reward
uses (same sandbox, same row/byte/memory bounds), after the same pre-scan as the reward
(:func:`~extensions.sql.guard.check_sql`). Its limit is a work budget (``max_vm_steps`` VM steps and
``max_cpu_s`` CPU seconds), so the same query gets the same answer on a quiet or a loaded machine. The
worker sends back only the rows and cell lengths the answer can show (:func:`answer_cap`), and results
are cached under the query's exact text, so an answer never depends on what ran before it. The answer
is a table (:mod:`extensions.tool.table`) or one line starting with ``error:`` that says what went
wrong (which limit ended the query, for a timeout); every answer fits ``max_chars``. The tool sees
only the database: it never holds the gold query, so it cannot reveal it or its result. Nothing here
raises.

:class:`SqlSession` is one episode: a database, a call budget and counters (thread-safe; the
``async`` method runs the query in a thread).

>>> from extensions.data.demo import build_demo_databases
>>> from extensions.execution.engine import ExecutionEngine
>>> import tempfile
>>> hr = build_demo_databases(tempfile.mkdtemp())["hr"]
>>> with ExecutionEngine(workers=1) as eng:
...     s = SqlSession(hr, ToolLimits(max_calls=2), engine=eng)
...     print(s.execute_sql("SELECT count(*) AS n FROM employees"))
...     print(s.execute_sql("DROP TABLE employees"))
...     print(s.execute_sql("SELECT 1"))
n
60
(1 row)
error: forbidden: only one read-only SELECT statement may run (not authorized)
error: call budget spent (2 of 2 calls); give your final answer now
>>> s.calls, s.errors, s.budget_spent
(2, 1, True)
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass

from extensions._util.log import log_once
from extensions.defaults.tool import DEFAULT_LIMITS, ToolLimits
from extensions.execution.budget import Cap
from extensions.execution.engine import ExecutionEngine, shared_engine
from extensions.execution.status import ExecResult, Status
from extensions.sql.guard import check_sql
from extensions.tool.table import clean_text, render_table

__all__ = ["SqlSession", "ToolAnswer", "answer_cap", "budget_spent_text", "error_text", "run_query"]

log = logging.getLogger(__name__)

_DETAIL_CHARS = 160
_HINTS = {
    Status.SYNTAX_ERROR: "syntax error",
    Status.SCHEMA_ERROR: "schema error",
    Status.FORBIDDEN: "forbidden: only one read-only SELECT statement may run",
    Status.TOO_LARGE: "result too large; add a LIMIT or aggregate",
    Status.TOO_DEEP: "query refused: nested too deeply",
    Status.DB_MISSING: "the database is unavailable",
    Status.DB_CORRUPT: "the database is unavailable",
    Status.INTERNAL_ERROR: "internal error; try another query or give your answer",
}
_NO_DETAIL = frozenset({Status.DB_MISSING, Status.DB_CORRUPT, Status.INTERNAL_ERROR, Status.TOO_LARGE})


@dataclass(frozen=True)
class ToolAnswer:
    """What one call answers: the text for the model and whether the query ran (``ok``)."""

    text: str
    ok: bool
    status: str


def error_text(message: str, max_chars: int, detail: str = "") -> str:
    """One ``error: ...`` line of at most ``max_chars`` characters.

    Args:
        message: what went wrong.
        max_chars: the answer's budget (``ToolLimits.max_chars``).
        detail: SQLite's message, cleaned and cut to 160 characters.

    Returns:
        The text.

    >>> error_text("schema error", 64, "no such column: nme")
    'error: schema error (no such column: nme)'
    """
    text = f"error: {message}" + (f" ({clean_text(detail, _DETAIL_CHARS)})" if detail else "")
    return clean_text(text, max_chars)


def budget_spent_text(limits: ToolLimits) -> str:
    """The answer to a call past the episode's budget (at most ``max_chars`` characters).

    Args:
        limits: the tool's bounds.

    Returns:
        The text.

    >>> budget_spent_text(ToolLimits(max_calls=2))
    'error: call budget spent (2 of 2 calls); give your final answer now'
    """
    n = limits.max_calls
    return error_text(f"call budget spent ({n} of {n} calls); give your final answer now", limits.max_chars)


def _error(status: str, message: str, limits: ToolLimits, detail: str = "") -> ToolAnswer:
    return ToolAnswer(error_text(message, limits.max_chars, detail), False, status)


def _stopped(r: ExecResult, limits: ToolLimits) -> str:
    """Which limit ended the query, in the words of the answer."""
    if r.status is Status.TIMEOUT:
        return f"stopped at the tool's work budget of {r.max_vm_steps} VM steps; simplify the query or add a LIMIT"
    if r.status is Status.TIMEOUT_CPU:
        return f"stopped at the tool's budget of {r.max_cpu_s:g} CPU seconds; simplify the query or add a LIMIT"
    if r.detail.startswith("no sandbox worker free"):
        return f"{r.detail.replace(' worker', '')} (the machine is busy); try again later"
    return f"no answer within {limits.timeout_s:g} s of wall-clock time (the machine is busy); try again later"


def answer_cap(limits: ToolLimits) -> Cap:
    """What the worker sends back for an answer under ``limits``: no more than the answer can show.

    ``max_rows`` rows, values cut one character past ``max_cell_chars`` (so that a cut still shows as
    one), and at most ``8 * max_chars + 4096`` bytes of cells, more than the rows any answer of
    ``max_chars`` characters can show.

    Args:
        limits: the tool's bounds.

    Returns:
        The :class:`~extensions.execution.budget.Cap`.

    >>> answer_cap(ToolLimits(max_rows=3, max_cell_chars=10, max_chars=100))
    Cap(rows=3, cell_chars=11, max_bytes=4896, names=True)
    """
    return Cap(rows=limits.max_rows, cell_chars=limits.max_cell_chars + 1, max_bytes=8 * limits.max_chars + 4096)


def _answer(r: ExecResult, limits: ToolLimits) -> ToolAnswer:
    if r.status is Status.OK:
        text = render_table(
            r.columns,
            r.rows or (),
            max_rows=limits.max_rows,
            max_cell_chars=limits.max_cell_chars,
            max_chars=limits.max_chars,
            total_rows=r.row_count,
            cut_at=limits.max_cell_chars + 1,
        )
        return ToolAnswer(text, True, "ok")
    if r.status in (Status.TIMEOUT, Status.TIMEOUT_CPU, Status.TIMEOUT_WALL):
        return _error(r.status.value, _stopped(r, limits), limits)
    message = _HINTS.get(r.status, r.status.value)
    return _error(r.status.value, message, limits, "" if r.status in _NO_DETAIL else r.detail)


def _refusal(query: object, limits: ToolLimits) -> ToolAnswer | None:
    """The answer for a query that must not run at all, else None."""
    if not isinstance(query, str) or not query.strip():
        return _error("syntax_error", "empty query; pass one SELECT statement as `query`", limits)
    if len(query) > limits.max_query_chars:
        return _error("too_large", f"query longer than {limits.max_query_chars} characters", limits)
    reason = check_sql(query)
    if reason is not None:
        return _error("too_deep" if reason.startswith("too_deep") else "too_large", "query refused", limits, reason)
    return None


def run_query(
    db_path: str | None, query: object, limits: ToolLimits = DEFAULT_LIMITS, engine: ExecutionEngine | None = None
) -> ToolAnswer:
    """Run one query for the model (no budget); never raises.

    Args:
        db_path: the sample's SQLite file (None: the database is unavailable).
        query: the model's query (anything not a non-empty string is refused).
        limits: the tool's bounds.
        engine: the execution engine (default: the process's shared engine, as the reward's).

    Returns:
        The :class:`ToolAnswer`.

    >>> run_query(None, "SELECT 1").text
    'error: the database is unavailable'
    """
    try:
        refused = _refusal(query, limits)
        if refused is not None:
            return refused
        if not isinstance(db_path, str) or not db_path:
            return _error("db_missing", _HINTS[Status.DB_MISSING], limits)
        eng = engine if engine is not None else shared_engine()
        r = eng.execute(
            db_path,
            query,  # type: ignore[arg-type]
            timeout_s=limits.timeout_s,
            max_vm_steps=limits.max_vm_steps,
            max_cpu_s=limits.max_cpu_s,
            cap=answer_cap(limits),
        )
        return _answer(r, limits)
    except Exception as exc:  # noqa: BLE001 - a bug: a defined answer, logged once
        log_once(log, f"tool:{type(exc).__name__}", "internal error in the SQL tool: %r", exc, exc_info=True)
        return _error("internal_error", _HINTS[Status.INTERNAL_ERROR], limits)


class SqlSession:
    """One episode of the tool: a database, a call budget, and counters of calls and errors.

    Args:
        db_path: the sample's SQLite file.
        limits: the tool's bounds (``max_calls`` is the budget).
        engine: the execution engine (default: the shared one).
    """

    def __init__(
        self, db_path: str | None, limits: ToolLimits = DEFAULT_LIMITS, engine: ExecutionEngine | None = None
    ) -> None:
        self.db_path = db_path
        self.limits = limits
        self.engine = engine
        self._lock = threading.Lock()
        self.calls = 0
        self.errors = 0
        self.refused = 0  # calls past the budget (not run, not counted in ``calls``)

    @property
    def budget_spent(self) -> bool:
        """Every call of the budget was used."""
        return self.calls >= self.limits.max_calls

    def _take(self) -> bool:
        with self._lock:
            if self.calls >= self.limits.max_calls:
                self.refused += 1
                return False
            self.calls += 1
            return True

    def _finish(self, answer: ToolAnswer) -> str:
        if not answer.ok:
            with self._lock:
                self.errors += 1
        return answer.text

    def execute_sql(self, query: object) -> str:
        """Run ``query`` if the budget allows; the table or a one-line ``error: ...``. Never raises.

        Args:
            query: the model's query.

        Returns:
            The answer text.
        """
        if not self._take():
            return budget_spent_text(self.limits)
        return self._finish(run_query(self.db_path, query, self.limits, self.engine))

    async def execute_sql_async(self, query: object) -> str:
        """:meth:`execute_sql` for coroutines: the query runs in a thread, the event loop never blocks.

        Args:
            query: the model's query.

        Returns:
            The answer text.
        """
        if not self._take():
            return budget_spent_text(self.limits)
        return self._finish(await asyncio.to_thread(run_query, self.db_path, query, self.limits, self.engine))

    def metrics(self) -> dict[str, float]:
        """``tool_calls``, ``tool_errors`` and ``tool_budget_spent`` (0/1) of this episode.

        Returns:
            The counters as floats.

        >>> SqlSession(None).metrics()
        {'tool_calls': 0.0, 'tool_errors': 0.0, 'tool_budget_spent': 0.0}
        """
        return {
            "tool_calls": float(self.calls),
            "tool_errors": float(self.errors),
            "tool_budget_spent": float(self.budget_spent),
        }
