"""The execution engine: pool + caches + comparison, one call per (prediction, gold).

A statement is looked up in a byte-bounded cache, else tried in the calling
thread (:mod:`extensions.execution.lane`), else run in a worker process
(:mod:`extensions.execution.pool`). ``docs/engine.md`` describes the design.

>>> from extensions.data.demo import build_demo_databases
>>> import tempfile
>>> paths = build_demo_databases(tempfile.mkdtemp())
>>> with ExecutionEngine(workers=1) as eng:
...     r = eng.match(paths["hr"], "SELECT count(*) FROM employees", "SELECT COUNT(id) FROM employees")
>>> r.match, r.status.value
(True, 'ok')
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from extensions._util.cache import ResultCache, approx_bytes
from extensions._util.coalesce import Coalescer, by_group
from extensions._util.forksafe import ForkSafeLock
from extensions._util.frozen import direct_init
from extensions._util.log import log_once
from extensions.execution.budget import VALUES_ONLY, WHOLE, Budget, Cap
from extensions.execution.compare import (
    CompareLimit,
    CompareOptions,
    Semantics,
    clear_memo,
)
from extensions.execution.lane import InlineLane
from extensions.execution.pool import WorkerPool
from extensions.execution.sandbox import Limits, Signature, db_signature
from extensions.execution.settings import EngineSettings
from extensions.execution.status import ExecResult, Status
from extensions.sql.normalize import cache_key, statement_key

__all__ = ["Budget", "Cap", "CompareOptions", "EngineSettings", "ExecutionEngine", "MatchResult", "shared_engine"]

log = logging.getLogger(__name__)


@direct_init
@dataclass(frozen=True)
class MatchResult:
    """Verdict for one prediction against one gold query.

    ``status`` is the prediction's execution status, or ``gold_error`` when the
    gold query failed (never a match), or ``db_missing``/``db_corrupt``.
    ``timeout_s`` is the prediction's wall-clock backstop, ``max_vm_steps`` and
    ``max_cpu_s`` its work budget. The results carry no column names (the
    comparison does not look at them; :meth:`ExecutionEngine.execute` gives them).
    """

    match: bool
    status: Status
    detail: str = ""
    pred: ExecResult | None = None
    gold: ExecResult | None = None
    timeout_s: float = 0.0
    max_vm_steps: int = 0
    max_cpu_s: float = 0.0

    @property
    def executed(self) -> bool:
        """The prediction ran and returned rows (whatever their value)."""
        return self.pred is not None and self.pred.status is Status.OK

    def with_results(self, pred: ExecResult | None, gold: ExecResult | None) -> MatchResult:
        """A copy with other ``pred`` and ``gold`` results (the verdict cache keeps its cached copies).

        Args:
            pred: the prediction's result.
            gold: the gold's result.

        Returns:
            The copy.
        """
        twin = object.__new__(MatchResult)
        twin.__dict__.update(self.__dict__, pred=pred, gold=gold)  # frozen: copied without running __init__
        return twin


def _as_cached(r: ExecResult | None) -> ExecResult | None:
    """``r`` marked cached, its size worked out first so that the cached copy carries it (see :func:`_result_bytes`)."""
    if r is None:
        return None
    _result_bytes(r)
    return r.as_cached()


# What approx_bytes gives for None (an error's rows) and an empty tuple (no rows, no column names), worked out once.
_NONE_BYTES, _EMPTY_BYTES = approx_bytes(None), approx_bytes(())


def _result_bytes(r: ExecResult) -> int:
    """Estimated bytes of a result, worked out once per result object (kept in its ``__dict__``)."""
    n = r.__dict__.get("_approx_bytes")
    if n is None:
        rows = approx_bytes(r.rows) if r.rows else (_NONE_BYTES if r.rows is None else _EMPTY_BYTES)
        names = approx_bytes(r.columns) if r.columns else _EMPTY_BYTES
        n = r.__dict__["_approx_bytes"] = 200 + rows + names + len(r.detail)
    return n


def _verdict_bytes(m: MatchResult) -> int:
    return 200 + sum(_result_bytes(r) for r in (m.pred, m.gold) if r is not None)


def _keyed_bytes(key_chars: int, r: ExecResult) -> int:
    return key_chars + _result_bytes(r)


def _statement_key(sql: str, gold: bool) -> str:
    """The cache key of a statement on the reward path: normalised when short, the text itself when long.

    A gold query's key is memoised (its prompt comes back in later batches); a prediction is rarely
    seen twice, and the memo's bookkeeping would cost about what folding it again costs.
    """
    if len(sql) > _NORMALISE_MAX_CHARS:
        return sql
    return cache_key(sql) if gold else statement_key(sql)


def _usable(r: ExecResult, budget: Budget) -> bool:
    """A cached timeout under a smaller budget than this call's is no verdict for it."""
    if r.status is Status.TIMEOUT:
        return 0 < budget.max_vm_steps <= r.max_vm_steps or r.max_vm_steps == 0
    if r.status is Status.TIMEOUT_CPU:
        return 0 < budget.max_cpu_s <= r.max_cpu_s or r.max_cpu_s == 0
    return True


def _within(r: ExecResult, budget: Budget) -> ExecResult:
    """``r`` as a run under ``budget`` gives it: the same status and detail as a fresh run.

    A result cached under a larger budget that needed more steps (or CPU seconds) than this one
    allows is the timeout a fresh run gives; VM steps, the exact measure, are looked at first.
    """
    steps, cpu = budget.max_vm_steps, budget.max_cpu_s
    if r.status is Status.OK or r.status is Status.TIMEOUT_CPU:
        if steps and r.vm_steps > steps:
            return _timed_out(r, Status.TIMEOUT, budget)
        if cpu and r.cpu_s > cpu:
            return _timed_out(r, Status.TIMEOUT_CPU, budget)
        return r
    if r.status is Status.TIMEOUT and steps and r.max_vm_steps != steps:
        return _timed_out(r, Status.TIMEOUT, budget)
    return r


def _timed_out(r: ExecResult, status: Status, budget: Budget) -> ExecResult:
    """The ``timeout`` or ``timeout_cpu`` result of ``r``'s statement under ``budget``."""
    detail = budget.steps_detail() if status is Status.TIMEOUT else budget.cpu_detail()
    return ExecResult(
        status,
        detail=detail,
        timeout_s=r.timeout_s,
        vm_steps=r.vm_steps,
        max_vm_steps=budget.max_vm_steps,
        cpu_s=r.cpu_s,
        max_cpu_s=budget.max_cpu_s,
        cached=r.cached,
    )


def _cacheable(r: ExecResult) -> bool:
    """Only verdicts are cached: never an internal error or a wall-clock outcome."""
    return r.status not in (Status.INTERNAL_ERROR, Status.TIMEOUT_WALL)


def _internal(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


_UNREADABLE = (Status.DB_MISSING, Status.DB_CORRUPT)


class _Known:
    """What one batch ran: ``(path, prepared SQL) -> result`` for its golds and for its predictions,
    and each file's signature then (a result answers only for the same file content)."""

    __slots__ = ("golds", "preds", "sigs")

    def __init__(self) -> None:
        self.golds: dict[tuple[str, str], ExecResult] = {}
        self.preds: dict[tuple[str, str], ExecResult] = {}
        self.sigs: dict[str, Signature | None] = {}

    def result(self, gold: bool, db_path: str, sql: str, sig: Signature | None) -> ExecResult | None:
        """The batch's result for ``sql`` on ``db_path`` if the file still has signature ``sig``."""
        if sig is None or self.sigs.get(db_path) != sig:
            return None
        return (self.golds if gold else self.preds).get((db_path, sql))


_NOTHING_KNOWN = _Known()
# Verdicts that depend on more than the (file, SQL) pair: never memoised.
_VOLATILE = frozenset({Status.INTERNAL_ERROR, Status.DB_MISSING, Status.DB_CORRUPT, Status.TIMEOUT_WALL})
# A batch's predictions on one database stop trying the lane once failed attempts held the caller this many budgets.
_BATCH_LANE_BUDGETS = 3.0
# A verdict on a gold the batch ran whose result holds at most this many cells is not memoised.
_MEMO_MIN_CELLS = 1024
# Longer statements are cached under their own text (normalising them would keep them in its memo).
_NORMALISE_MAX_CHARS = 65536


@functools.lru_cache(maxsize=8192)
def _abspath_cached(path: str) -> str:
    return os.path.abspath(path)


def _abspath(path: str) -> str:
    """``os.path.abspath``, memoised only for paths of at most PATH_MAX characters (8,192 of them at most)."""
    return _abspath_cached(path) if len(path) <= 4096 else os.path.abspath(path)


@functools.lru_cache(maxsize=256)
def _options_from(
    semantics: Semantics, keep_distinct: bool, empty_result_is_wrong: bool, order_matters: bool | None
) -> CompareOptions:
    return CompareOptions(semantics, keep_distinct, empty_result_is_wrong, order_matters)


def _options(
    options: CompareOptions | None,
    semantics: Semantics,
    keep_distinct: bool,
    empty_result_is_wrong: bool,
    order_matters: bool | None,
) -> CompareOptions:
    """``options``, or the one the keyword arguments describe (ValueError for unknown semantics)."""
    if options is not None:
        return options
    try:
        return _options_from(semantics, keep_distinct, empty_result_is_wrong, order_matters)
    except TypeError:  # an unhashable argument: built without the memo
        return CompareOptions(semantics, keep_distinct, empty_result_is_wrong, order_matters)


class ExecutionEngine:
    """Thread-safe front door to the sandbox. Construct once per process and reuse.

    Args:
        settings: every knob (:class:`EngineSettings`); ``overrides`` replace single fields.

    >>> ExecutionEngine(workers=1, timeout_s=2.0).settings.timeout_s
    2.0
    """

    def __init__(self, settings: EngineSettings | None = None, **overrides: object) -> None:
        s = settings or EngineSettings()
        if overrides:
            s = s.replace(**overrides)
        self.settings = s
        self._setup()
        _engines.add(self)

    def _setup(self) -> None:
        s = self.settings
        self.pool = WorkerPool(
            s.workers or None,
            limits=Limits(max_rows=s.max_rows, max_value_bytes=s.max_value_bytes, max_sql_bytes=s.max_sql_bytes),
            max_open_connections=s.max_open_connections,
            memory_mb=s.memory_mb,
            grace_s=s.grace_s,
            immutable=s.immutable,
            max_result_bytes=s.max_result_bytes,
        )
        entry_cap = s.cache_max_bytes // 16
        self.gold_cache: ResultCache[ExecResult] = ResultCache(
            s.gold_cache_entries, s.cache_max_bytes, max_entry_bytes=entry_cap
        )
        self.result_cache: ResultCache[ExecResult] = ResultCache(
            s.result_cache_entries, s.cache_max_bytes, max_entry_bytes=entry_cap
        )
        self.verdict_cache: ResultCache[MatchResult] = ResultCache(
            s.verdict_cache_entries, s.cache_max_bytes, max_entry_bytes=entry_cap
        )
        self._counts = {"executions": 0, "worker_executions": 0, "verdict_hits": 0, "batch_lane_skipped": 0}
        self._sigs: dict[str, tuple[float, Signature | None]] = {}
        self._inline = InlineLane(
            Limits(
                max_rows=max(1, min(s.max_rows, s.inline_max_rows)),
                max_value_bytes=max(1000, min(s.max_value_bytes, s.inline_max_value_bytes)),
                max_sql_bytes=s.max_sql_bytes,
            ),
            s.max_open_connections,
            s.immutable,
        )
        self._budget_s = max(0.0, s.inline_budget_ms) / 1000.0
        self._slow: dict[str, bool] = {}  # databases whose gold queries are too slow for the lane
        self._gold_budget = Budget(s.max_vm_steps, s.max_cpu_s, s.timeout_s)
        self._batch_local = threading.local()  # per thread: what its last execute_batch ran
        # (gold VM steps, gold CPU seconds) -> its predictions' budget (numbers only: no result is kept alive)
        self._budgets: dict[tuple[int, float], Budget] = {}
        self._coalescer: Coalescer[tuple, MatchResult] = Coalescer(
            self._match_batch,
            lambda item, exc: MatchResult(False, Status.INTERNAL_ERROR, _internal(exc)),
            name="match_async",
        )

    # -- lifecycle -----------------------------------------------------------------------
    def _after_fork_in_child(self) -> None:
        """In a forked child: leave the parent's workers and connections alone, start afresh."""
        closed = self.pool.closed
        self.pool.abandon()
        self._setup()
        if closed:
            self.pool.close()

    def close(self) -> None:
        """Stop the workers and close the lane's connections. Idempotent."""
        self.pool.close()
        self._inline.close()

    def __enter__(self) -> "ExecutionEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def clear_caches(self) -> None:
        """Forget every cached result, verdict, file signature and lane speed note (counters are kept),
        and the process-wide memos of SQL rewrites and paths.

        >>> with ExecutionEngine(workers=1) as eng:
        ...     eng.clear_caches(); eng.stats()["result_cache"]["entries"]
        0
        """
        for cache in (self.gold_cache, self.result_cache, self.verdict_cache):
            cache.clear()
        self._sigs.clear()
        self._slow.clear()
        self._budgets.clear()
        clear_memo()
        _abspath_cached.cache_clear()

    def stats(self) -> dict[str, Any]:
        """Counters of the engine, its lane, its caches and its workers.

        Returns:
            ``executions`` (distinct statements run), ``worker_executions`` (of which in a
            worker), ``inline`` (lane counters, ``budget_ms``, ``slow_databases``,
            ``batch_skipped``), ``match_async``, ``worker_restarts``, ``worker_retries`` (statements
            tried a second time after a stall), ``worker_bytes_received`` (result frames read),
            ``worker_pids`` (the process ids of the workers alive now) and one dict per
            cache (``entries``, ``bytes``, ``hits``, ``misses``, ``joined``).
        """
        c = self._counts
        inline = {
            **self._inline.stats(),
            "budget_ms": self.settings.inline_budget_ms,
            "slow_databases": sum(self._slow.values()),
            "batch_skipped": c["batch_lane_skipped"],
        }
        verdicts = {**self.verdict_cache.stats(), "hits": c["verdict_hits"]}
        return {
            "workers": self.pool.size,
            "executions": c["executions"],
            "worker_executions": c["worker_executions"],
            "inline": inline,
            "match_async": {"batches": self._coalescer.batches, "calls": self._coalescer.items},
            "worker_restarts": self.pool.restarts,
            "worker_retries": self.pool.retries,
            "worker_bytes_received": self.pool.received_bytes,
            "worker_pids": self.pool.pids(),
            "gold_cache": self.gold_cache.stats(),
            "result_cache": self.result_cache.stats(),
            "verdict_cache": verdicts,
        }

    # -- one statement -------------------------------------------------------------------
    def _signature(self, path: str) -> Signature | None:
        """``db_signature(path)``, re-read at most every ``stat_ttl_s`` seconds."""
        ttl = self.settings.stat_ttl_s
        if ttl <= 0:
            return db_signature(path)
        now = time.monotonic()
        entry = self._sigs.get(path)
        if entry is not None and now - entry[0] < ttl:
            return entry[1]
        sig = db_signature(path)
        if len(self._sigs) >= 65536:
            self._sigs.clear()
        self._sigs[path] = (now, sig)
        return sig

    def _precheck(self, db_path: str, sql: str, sig: Signature | None) -> tuple[Signature, ExecResult | None]:
        """The file's signature, and the result when the statement needs no run at all."""
        if sig is None:
            sig = self._signature(db_path) if isinstance(db_path, str) else None
        if sig is None:
            return (), ExecResult(Status.DB_MISSING, detail=f"no database file at {db_path!r}")
        if not isinstance(sql, str) or not sql or sql.isspace():
            return sig, ExecResult(Status.SYNTAX_ERROR, detail="empty SQL")
        if len(sql) > self.settings.max_sql_bytes:
            return sig, ExecResult(Status.TOO_LARGE, detail="SQL longer than max_sql_bytes")
        return sig, None

    def _gold_twin(self, cache: ResultCache[ExecResult], key: tuple, budget: Budget) -> ExecResult | None:
        """A prediction equal to a gold query reuses the gold's cached result (reward-path keys only)."""
        if cache is self.gold_cache or len(key) != 3:
            return None
        r = self.gold_cache.get(key)
        return r if r is not None and _usable(r, budget) else None

    def _lane_allowed(self, db_path: str, inline: bool) -> bool:
        return inline and self._budget_s > 0 and not self._slow.get(db_path, False) and not self.pool.closed

    def _try_inline(
        self, db_path: str, sig: Signature, sql: str, budget: Budget, gold: bool, cap: Cap
    ) -> ExecResult | None:
        """The lane's verdict, or None when a worker must run the statement."""
        r = self._inline.run(db_path, sig, sql, min(self._budget_s, budget.timeout_s), budget, cap)
        if r is not None:
            self._counts["executions"] += 1
            if gold:
                self._note_speed(db_path, r.elapsed_s)
        return r

    def _in_worker(self, db_path: str, sig: Signature, sql: str, budget: Budget, gold: bool, cap: Cap) -> ExecResult:
        self._counts["executions"] += 1
        self._counts["worker_executions"] += 1
        r = self.pool.execute(db_path, sql, budget, sig, cap)
        if r.status is Status.INTERNAL_ERROR:
            log_once(log, f"worker:{r.detail[:40]}", "sandbox worker reported an internal error: %s", r.detail)
        elif r.status is Status.TIMEOUT_WALL:
            log_once(
                log,
                "timeout_wall",
                "a statement passed the wall-clock backstop (timeout_s=%s) twice, or found no free worker: %s; "
                "not cached, the machine may be overloaded or a worker stopped",
                budget.timeout_s,
                r.detail,
            )
        if gold and r.status is not Status.INTERNAL_ERROR:
            slow = r.status in (Status.TIMEOUT, Status.TIMEOUT_WALL, Status.TIMEOUT_CPU)
            self._note_speed(db_path, budget.timeout_s if slow else r.elapsed_s)
        return r

    def _compute(
        self, db_path: str, sig: Signature, sql: str, budget: Budget, gold: bool, inline: bool, cap: Cap
    ) -> ExecResult:
        if self._lane_allowed(db_path, inline):
            r = self._try_inline(db_path, sig, sql, budget, gold, cap)
            if r is not None:
                return r
        return self._in_worker(db_path, sig, sql, budget, gold, cap)

    def _key(self, db_path: str, sig: Signature, sql: str, cap: Cap | None, gold: bool = False) -> tuple:
        """The cache key: the normalised statement on the reward path (``cap`` None: values only, no
        column names), else the exact text and the cap, since the answer shows text."""
        if cap is None:
            return (_abspath(db_path), sig, _statement_key(sql, gold))
        return (_abspath(db_path), sig, sql, cap)

    def _run(
        self,
        cache: ResultCache[ExecResult],
        db_path: str,
        sql: str,
        budget: Budget,
        sig: Signature | None = None,
        inline: bool = True,
        cap: Cap | None = None,
    ) -> ExecResult:
        """The statement's result: from ``cache``, else the inline lane, else a worker.

        ``cap`` None is the reward path (normalised keys, no column names); a cap asks for an
        exact-text key and that much of the result.
        """
        sig, early = self._precheck(db_path, sql, sig)
        if early is not None:
            return early
        key = self._key(db_path, sig, sql, cap, cache is self.gold_cache)
        usable = functools.partial(_usable, budget=budget)
        result = self._gold_twin(cache, key, budget) or cache.lookup(key, usable)
        if result is None:
            gold = cache is self.gold_cache
            result, _ = cache.get_or_compute(
                key,
                functools.partial(self._compute, db_path, sig, sql, budget, gold, inline, cap or VALUES_ONLY),
                cost=functools.partial(_keyed_bytes, len(sql)),
                usable=usable,
                cacheable=_cacheable,
                store=_as_cached,
            )
        return _within(result, budget)

    def _run_lane_only(
        self, cache: ResultCache[ExecResult], db_path: str, sql: str, budget: Budget
    ) -> ExecResult | None:
        """Like :meth:`_run` (reward path) but never a worker: None when the lane cannot settle the statement.

        A statement it runs is returned as the cache keeps it (marked cached): the batch's later
        verdicts then share that one object instead of copying it, as they would after a lookup.
        """
        sig, early = self._precheck(db_path, sql, None)
        if early is not None:
            return early
        key = self._key(db_path, sig, sql, None, cache is self.gold_cache)
        result = self._gold_twin(cache, key, budget) or cache.lookup(key, functools.partial(_usable, budget=budget))
        if result is None and self._lane_allowed(db_path, True):
            fresh = self._try_inline(db_path, sig, sql, budget, cache is self.gold_cache, VALUES_ONLY)
            if fresh is not None:
                cost = _keyed_bytes(len(sql), fresh)  # before the copy, which then carries the size
                result = fresh.as_cached()
                cache.put(key, result, cost)
        return None if result is None else _within(result, budget)

    def _note_speed(self, path: str, gold_elapsed_s: float) -> None:
        """Remember whether ``path``'s gold queries fit the inline lane (half its budget); routing only."""
        if len(self._slow) >= 65536:
            self._slow.clear()
        self._slow[path] = gold_elapsed_s > self._budget_s / 2

    def _safe_run(
        self,
        cache: ResultCache[ExecResult],
        db_path: str,
        sql: str,
        budget: Budget,
        sig: Signature | None = None,
        inline: bool = True,
        cap: Cap | None = None,
    ) -> ExecResult:
        try:
            return self._run(cache, db_path, sql, budget, sig, inline, cap)
        except Exception as exc:  # a bug: a defined status, logged once
            log_once(log, f"execute:{type(exc).__name__}", "internal error in execute: %r", exc, exc_info=True)
            return ExecResult(Status.INTERNAL_ERROR, detail=_internal(exc))

    def execute(
        self,
        db_path: str,
        sql: str,
        *,
        timeout_s: float | None = None,
        max_vm_steps: int | None = None,
        max_cpu_s: float | None = None,
        cap: Cap = WHOLE,
    ) -> ExecResult:
        """Execute ``sql`` read-only on ``db_path``; recent identical statements are reused. Never raises.

        Results are cached under the exact text and ``cap``, so the columns, detail and rows are those
        this very statement gives, whatever ran before it.

        Args:
            db_path: the SQLite file.
            sql: one statement.
            timeout_s: the wall-clock backstop (default ``settings.timeout_s``).
            max_vm_steps: the work budget in VM instructions (default ``settings.max_vm_steps``; 0: none).
            max_cpu_s: the CPU budget in seconds (default ``settings.max_cpu_s``; 0: none).
            cap: how much of the result to return (default: all of it); the rest never leaves the worker.

        Returns:
            The :class:`ExecResult`.
        """
        s = self.settings
        budget = Budget(
            s.max_vm_steps if max_vm_steps is None else max_vm_steps,
            s.max_cpu_s if max_cpu_s is None else max_cpu_s,
            timeout_s or s.timeout_s,
        )
        return self._safe_run(self.result_cache, db_path, sql, budget, cap=cap)

    def execute_gold(self, db_path: str, sql: str) -> ExecResult:
        """Execute a gold query with the full budget; cached per (database, exact SQL). Never raises."""
        return self._safe_run(self.gold_cache, db_path, sql, self.gold_budget(), cap=WHOLE)

    def gold_budget(self) -> Budget:
        """A gold query's budget: ``max_vm_steps``, ``max_cpu_s`` and the ``timeout_s`` backstop.

        Returns:
            The :class:`Budget`.
        """
        return self._gold_budget

    def budget_for(self, gold: ExecResult) -> Budget:
        """A prediction's budget given its gold's result: :meth:`steps_for`, :meth:`cpu_for`, :meth:`timeout_for`.

        Args:
            gold: the gold query's result.

        Returns:
            The :class:`Budget`.
        """
        cost = (gold.vm_steps, gold.cpu_s)
        budget = self._budgets.get(cost)
        if budget is None:
            budget = Budget(self.steps_for(gold), self.cpu_for(gold), self.timeout_for(gold))
            if len(self._budgets) >= 4096:
                self._budgets.clear()
            self._budgets[cost] = budget
        return budget

    def timeout_for(self, gold: ExecResult) -> float:
        """A prediction's wall-clock backstop: ``settings.timeout_s`` whatever the gold (never adaptive)."""
        return self.settings.timeout_s

    def steps_for(self, gold: ExecResult) -> int:
        """A prediction's work budget in VM steps given its gold's result.

        Args:
            gold: the gold query's result.

        Returns:
            ``clamp(adaptive_k × gold.vm_steps, adaptive_min_steps, max_vm_steps)`` with
            ``adaptive_timeout``, else ``max_vm_steps`` (0: no budget).

        >>> eng = ExecutionEngine(workers=1, max_vm_steps=10**9, adaptive_k=20, adaptive_min_steps=10**6)
        >>> eng.steps_for(ExecResult(Status.OK, vm_steps=5 * 10**6)), eng.steps_for(ExecResult(Status.OK))
        (100000000, 1000000)
        >>> eng.close()
        """
        s = self.settings
        if not s.adaptive_timeout:
            return s.max_vm_steps
        adaptive = max(s.adaptive_min_steps, int(s.adaptive_k * gold.vm_steps))
        return min(s.max_vm_steps, adaptive) if s.max_vm_steps else adaptive

    def cpu_for(self, gold: ExecResult) -> float:
        """A prediction's CPU budget in seconds given its gold's result.

        Args:
            gold: the gold query's result.

        Returns:
            ``clamp(adaptive_cpu_margin × adaptive_k × gold.cpu_s, adaptive_min_cpu_s, max_cpu_s)``
            with ``adaptive_timeout``, else ``max_cpu_s`` (0: no budget). The margin keeps the CPU
            budget well past what the step budget costs at the gold's pace, so that steps, not a
            clock, decide every prediction whose steps cost about what the gold's do.

        >>> eng = ExecutionEngine(workers=1, adaptive_k=20, adaptive_cpu_margin=10, adaptive_min_cpu_s=1.0)
        >>> eng.cpu_for(ExecResult(Status.OK, cpu_s=0.05)), eng.cpu_for(ExecResult(Status.OK, cpu_s=0.001))
        (10.0, 1.0)
        >>> eng.close()
        """
        s = self.settings
        if not s.adaptive_timeout:
            return s.max_cpu_s
        adaptive = max(s.adaptive_min_cpu_s, s.adaptive_cpu_margin * s.adaptive_k * gold.cpu_s)
        return min(s.max_cpu_s, adaptive) if s.max_cpu_s else adaptive

    # -- comparison -------------------------------------------------------------------
    def match(
        self,
        db_path: str | Sequence[str],
        pred_sql: str | None,
        gold_sql: str,
        *,
        semantics: Semantics = "spider",
        keep_distinct: bool = False,
        empty_result_is_wrong: bool = False,
        order_matters: bool | None = None,
        options: CompareOptions | None = None,
    ) -> MatchResult:
        """Execute prediction and gold and compare them; never raises (except ValueError for unknown ``semantics``).

        Args:
            db_path: the database, or a list of them (Spider test suites): a match must hold on every one.
            pred_sql: the prediction (anything not a string is a ``syntax_error``).
            gold_sql: the gold query.
            semantics, keep_distinct, empty_result_is_wrong, order_matters: see :class:`CompareOptions`.
            options: a :class:`CompareOptions` instead of the four keywords.

        Returns:
            The :class:`MatchResult`.
        """
        opts = options or _options(None, semantics, keep_distinct, empty_result_is_wrong, order_matters)
        try:
            paths = [db_path] if isinstance(db_path, str) else list(db_path or [])
            if not paths:
                return MatchResult(False, Status.DB_MISSING, "no database given")
            known = self._last_batch()
            for path in paths:
                m = self._match_one(path, pred_sql, gold_sql, opts, known)
                if not m.match:
                    return m
            return m
        except Exception as exc:
            log_once(log, f"match:{type(exc).__name__}", "internal error in match: %r", exc, exc_info=True)
            return MatchResult(False, Status.INTERNAL_ERROR, _internal(exc))

    def _last_batch(self) -> _Known:
        """What this thread's last :meth:`execute_batch` ran (its :meth:`match` calls read it)."""
        return getattr(self._batch_local, "known", _NOTHING_KNOWN)

    def _match_single(
        self, db_path: str, pred_sql: Any, gold_sql: Any, opts: CompareOptions, known: _Known
    ) -> MatchResult:
        """:meth:`match` on one file, with a batch's results at hand; never raises."""
        try:
            return self._match_one(db_path, pred_sql, gold_sql, opts, known)
        except Exception as exc:
            log_once(log, f"match:{type(exc).__name__}", "internal error in match: %r", exc, exc_info=True)
            return MatchResult(False, Status.INTERNAL_ERROR, _internal(exc))

    def _match_one(
        self, db_path: str, pred_sql: str | None, gold_sql: str, opts: CompareOptions, known: _Known = _NOTHING_KNOWN
    ) -> MatchResult:
        if not isinstance(gold_sql, str) or not gold_sql.strip():
            return MatchResult(False, Status.GOLD_ERROR, "gold SQL is missing")
        sig = self._signature(db_path) if isinstance(db_path, str) else None
        too_long = isinstance(pred_sql, str) and len(pred_sql) > self.settings.max_sql_bytes
        if (
            sig is None
            or self.verdict_cache.max_entries == 0
            or too_long
            or not (pred_sql is None or isinstance(pred_sql, str))
            or _cheap_to_compare(known, db_path, sig, gold_sql, opts)
        ):
            return self._compare(db_path, sig, pred_sql, gold_sql, opts, known)
        key = (_abspath(db_path), sig, pred_sql, gold_sql, opts)
        memo = self.verdict_cache.get(key)
        if memo is not None:
            self._counts["verdict_hits"] += 1
            return memo
        m = self._compare(db_path, sig, pred_sql, gold_sql, opts, known)
        pred, gold = m.pred, m.gold
        if m.status in _VOLATILE or (gold is not None and gold.status in _VOLATILE):
            return m
        if pred is not None and pred.status in _VOLATILE:
            return m
        kept = m
        if (pred is not None and not pred.cached) or (gold is not None and not gold.cached):
            kept = m.with_results(_as_cached(pred), _as_cached(gold))
        self.verdict_cache.put(key, kept, _verdict_bytes(kept) + len(gold_sql) + len(pred_sql or ""))
        return m

    def _known_or_run(
        self,
        known: _Known,
        cache: ResultCache[ExecResult],
        db_path: str,
        sql: str,
        budget: Budget,
        sig: Signature | None,
        inline: bool = True,
    ) -> ExecResult:
        """The batch's result for ``sql`` (a verdict, read as a fresh run under ``budget`` reads it), else a run."""
        r = known.result(cache is self.gold_cache, db_path, sql, sig)
        if r is not None:
            if r.status is Status.OK:  # usable under any budget; _within's checks for it, written out
                steps, cpu = budget.max_vm_steps, budget.max_cpu_s
                if (not steps or r.vm_steps <= steps) and (not cpu or r.cpu_s <= cpu):
                    return r
                return _within(r, budget)
            if r.status not in _VOLATILE and _usable(r, budget):
                return _within(r, budget)
        return self._safe_run(cache, db_path, sql, budget, sig, inline)

    def _compare(
        self,
        db_path: str,
        sig: Signature | None,
        pred_sql: str | None,
        gold_sql: str,
        opts: CompareOptions,
        known: _Known = _NOTHING_KNOWN,
    ) -> MatchResult:
        gold_prepared = opts.prepare(gold_sql)
        gold_budget = self.gold_budget()
        gold = self._known_or_run(known, self.gold_cache, db_path, gold_prepared, gold_budget, sig)
        if gold.status in (Status.DB_MISSING, Status.DB_CORRUPT):
            return MatchResult(False, gold.status, gold.detail, None, gold)
        if not isinstance(pred_sql, str) or not pred_sql or pred_sql.isspace():
            if gold.status is not Status.OK:  # the gold's failure is the reason, whatever the completion
                return MatchResult(False, Status.GOLD_ERROR, f"gold {gold.status.value}: {gold.detail}", None, gold)
            return MatchResult(False, Status.SYNTAX_ERROR, "no SQL in the completion", None, gold)
        # Too long: left unprocessed, the pre-check refuses it as too_large.
        pred_prepared = pred_sql if len(pred_sql) > self.settings.max_sql_bytes else opts.prepare(pred_sql)
        if gold.status is not Status.OK:
            # Never a match; the prediction still runs so callers know whether it executes.
            pred = self._known_or_run(known, self.result_cache, db_path, pred_prepared, gold_budget, sig)
            detail = f"gold {gold.status.value}: {gold.detail}"
            return _verdict(False, Status.GOLD_ERROR, detail, pred, gold, gold_budget)
        budget = self.budget_for(gold)
        # A gold that needs more than half the inline budget: its predictions go straight to a worker.
        inline = gold.elapsed_s <= self._budget_s / 2
        pred = self._known_or_run(known, self.result_cache, db_path, pred_prepared, budget, sig, inline)
        if pred.status is not Status.OK:
            return _verdict(False, pred.status, pred.detail, pred, gold, budget)
        assert gold.rows is not None and pred.rows is not None
        if opts.empty_result_is_wrong and not gold.rows and not pred.rows:
            return _verdict(False, Status.OK, "both results empty (empty_result_is_wrong)", pred, gold, budget)
        try:
            ok = opts.matches(gold.rows, pred.rows, gold_sql=gold_prepared)
        except CompareLimit as exc:
            return _verdict(False, Status.TOO_LARGE, str(exc), pred, gold, budget)
        return _verdict(ok, Status.OK, "" if ok else "results differ", pred, gold, budget)

    # -- batches ------------------------------------------------------------------------
    def execute_batch(
        self,
        items: Iterable[tuple[str | Sequence[str], str | None, str]],
        *,
        semantics: Semantics = "spider",
        keep_distinct: bool = False,
        options: CompareOptions | None = None,
    ) -> None:
        """Run the distinct statements of a batch of ``(db_path, pred_sql, gold_sql)`` into the caches.

        Golds first, then predictions (their adaptive timeout needs the gold's
        time). Each wave goes through the inline lane in the calling thread
        first (a database's predictions stop trying it once their failed
        attempts held the caller a few budgets), then what is left runs in the
        worker processes in parallel. :meth:`match` afterwards
        gives exactly the verdicts it gives without this call, from cache.
        Never raises.

        Args:
            items: ``(db_path, pred_sql, gold_sql)`` triples.
            semantics, keep_distinct, options: as for :meth:`match`.
        """
        self._run_batch(items, options or _options(None, semantics, keep_distinct, False, None))

    def _run_batch(self, items: Iterable[tuple[Any, Any, Any]], opts: CompareOptions) -> _Known:
        """:meth:`execute_batch`; returns what it ran, also kept for this thread's :meth:`match` calls.

        Those calls read a statement's result from the batch (the object the caches hold) instead of
        looking it up again; a result is read only for the same file signature and through the same
        :func:`_usable` / :func:`_within` rules, so every verdict is the one the caches give. The
        results stay referenced until the thread's next batch.
        """
        known = _Known()
        self._batch_local.known = known
        try:
            work = _batch_work(items, opts)
            golds = list(dict.fromkeys((p, g) for p, _, g in work))
            gold_budget = self.gold_budget()
            known.sigs = {p: self._signature(p) for p, _ in golds}
            known.golds = dict(zip(golds, self._settle([(p, g, gold_budget, True) for p, g in golds], gold=True)))
            jobs = self._prediction_jobs(work, known.golds, opts)
            known.preds = dict(zip([(p, sql) for p, sql, _, _ in jobs], self._settle(jobs, gold=False)))
        except Exception as exc:  # the per-sample calls that follow still give every verdict
            log_once(log, f"prefetch:{type(exc).__name__}", "internal error in execute_batch: %r", exc, exc_info=True)
            known.golds, known.preds = {}, {}
        return known

    def _prediction_jobs(
        self, work: list[tuple[str, Any, str]], golds: dict[tuple[str, str], ExecResult], opts: CompareOptions
    ) -> list[tuple[str, str, Budget, bool]]:
        """``(path, sql, budget, inline)`` per distinct prediction (its gold's budget, lane choice)."""
        jobs: dict[tuple[str, str], tuple[Budget, bool]] = {}
        budgets: dict[tuple[str, str], Budget] = {}  # per gold
        for path, pred, gold_sql in work:
            g = golds[(path, gold_sql)]
            if not isinstance(pred, str) or not pred or pred.isspace() or g.status in _UNREADABLE:
                continue
            ok = g.status is Status.OK
            budget = budgets.get((path, gold_sql))
            if budget is None:
                budget = budgets[(path, gold_sql)] = self.budget_for(g) if ok else self.gold_budget()
            inline = not ok or g.elapsed_s <= self._budget_s / 2
            key = (path, opts.prepare(pred))
            before = jobs.get(key)
            # The largest budget runs; a smaller one reads the same cached run (``_within``).
            if before is None:
                jobs[key] = (budget, inline)
            elif before[0] is not budget or (inline is False and before[1]):
                jobs[key] = (_wider(before[0], budget), before[1] and inline)
        return [(p, sql, budget, inline) for (p, sql), (budget, inline) in jobs.items()]

    def _settle(self, jobs: list[tuple[str, str, Budget, bool]], *, gold: bool) -> list[ExecResult]:
        """Results of ``(db_path, sql, budget, inline)`` jobs: the lane first, then the workers."""
        cache = self.gold_cache if gold else self.result_cache
        results = self._settle_in_lane(jobs, cache, gold)
        rest = [i for i, r in enumerate(results) if r is None]
        if rest:
            with ThreadPoolExecutor(max(1, min(self.pool.size, len(rest))), thread_name_prefix="execute_batch") as ex:
                done = ex.map(lambda i: self._safe_run(cache, jobs[i][0], jobs[i][1], jobs[i][2], None, False), rest)
                for i, r in zip(rest, done):
                    results[i] = r
        return [r if r is not None else ExecResult(Status.INTERNAL_ERROR, detail="not run") for r in results]

    def _settle_in_lane(
        self, jobs: list[tuple[str, str, Budget, bool]], cache: ResultCache[ExecResult], gold: bool
    ) -> list[ExecResult | None]:
        """The lane's results in the calling thread (None: for a worker).

        Predictions are model text: once the failed attempts on one database have held the
        caller ``_BATCH_LANE_BUDGETS`` budgets, that database's other predictions skip the lane.
        """
        results: list[ExecResult | None] = [None] * len(jobs)
        held: dict[str, float] = {}
        limit = _BATCH_LANE_BUDGETS * self._budget_s
        for i, (p, sql, budget, inline) in enumerate(jobs):
            if not inline:
                continue
            if not gold and held.get(p, 0.0) > limit:
                self._counts["batch_lane_skipped"] += 1
                continue
            t0 = time.perf_counter()
            results[i] = self._run_lane_only(cache, p, sql, budget)
            if results[i] is None:
                held[p] = held.get(p, 0.0) + time.perf_counter() - t0
        return results

    def match_many(
        self,
        items: Sequence[tuple[str | Sequence[str], str | None, str]],
        *,
        semantics: Semantics = "spider",
        keep_distinct: bool = False,
        empty_result_is_wrong: bool = False,
        order_matters: bool | None = None,
        options: CompareOptions | None = None,
    ) -> list[MatchResult]:
        """:meth:`match` for a batch of ``(db_path, pred_sql, gold_sql)``: same verdicts, fewer hand-offs.

        An item repeated in the batch (a GRPO group repeats its gold and many predictions) is matched once.
        """
        opts = options or _options(None, semantics, keep_distinct, empty_result_is_wrong, order_matters)
        distinct, where = _distinct_items(items)
        known = self._run_batch(distinct, opts)
        verdicts = []
        for path, pred, gold in distinct:
            if isinstance(path, str):  # the batch's own results (the same ones the caches give)
                verdicts.append(self._match_single(path, pred, gold, opts, known))
            else:
                verdicts.append(self.match(path, pred, gold, options=opts))
        return [verdicts[i] for i in where]

    async def match_async(
        self,
        db_path: str | Sequence[str],
        pred_sql: str | None,
        gold_sql: str,
        *,
        semantics: Semantics = "spider",
        keep_distinct: bool = False,
        empty_result_is_wrong: bool = False,
        order_matters: bool | None = None,
        options: CompareOptions | None = None,
    ) -> MatchResult:
        """:meth:`match` for coroutines; never raises (except ``ValueError`` for unknown ``semantics``).

        The calls awaited together on one event loop are scored as one
        :meth:`match_many` call in a thread, with the same verdicts as
        :meth:`match`; the loop never blocks.

        >>> import asyncio
        >>> from extensions.data.demo import build_demo_databases
        >>> import tempfile
        >>> hr = build_demo_databases(tempfile.mkdtemp())["hr"]
        >>> async def main(eng):
        ...     preds = ["SELECT count(*) FROM employees", "SELECT 1", "SELEC"]
        ...     return await asyncio.gather(*(eng.match_async(hr, p, "SELECT count(*) FROM employees") for p in preds))
        >>> with ExecutionEngine(workers=1) as eng:
        ...     [(m.match, m.status.value) for m in asyncio.run(main(eng))]
        [(True, 'ok'), (False, 'ok'), (False, 'syntax_error')]
        """
        opts = options or _options(None, semantics, keep_distinct, empty_result_is_wrong, order_matters)
        return await self._coalescer.submit((db_path, pred_sql, gold_sql, opts))

    def _match_batch(self, items: list[tuple]) -> list[MatchResult]:
        """``match_many`` over items that may carry different comparison options."""
        return by_group(
            items, lambda it: it[3], lambda group: self.match_many([it[:3] for it in group], options=group[0][3])
        )


def _cheap_to_compare(known: _Known, db_path: str, sig: Signature, gold_sql: str, opts: CompareOptions) -> bool:
    """Whether the batch ran the gold and its result is small: the verdict is then compared again rather
    than memoised (comparing a few rows costs less than the memo's key, lookup and entry; the verdict is
    the same either way, and the batch's results are at hand).

    >>> _cheap_to_compare(_NOTHING_KNOWN, "a.db", (1,), "SELECT 1", CompareOptions())
    False
    """
    if known is _NOTHING_KNOWN:
        return False
    gold = known.result(True, db_path, opts.prepare(gold_sql), sig)
    return gold is not None and gold.n_cells <= _MEMO_MIN_CELLS


def _verdict(
    ok: bool, status: Status, detail: str, pred: ExecResult | None, gold: ExecResult, b: Budget
) -> MatchResult:
    return MatchResult(ok, status, detail, pred, gold, b.timeout_s, b.max_vm_steps, b.max_cpu_s)


def _wider(a: Budget, b: Budget) -> Budget:
    """The larger of two budgets, measure by measure (0, no bound, is the largest)."""
    steps = 0 if 0 in (a.max_vm_steps, b.max_vm_steps) else max(a.max_vm_steps, b.max_vm_steps)
    cpu = 0.0 if 0 in (a.max_cpu_s, b.max_cpu_s) else max(a.max_cpu_s, b.max_cpu_s)
    return Budget(steps, cpu, max(a.timeout_s, b.timeout_s))


def _item_key(path: Any, pred: Any, gold: Any) -> tuple | None:
    """A batch item as a dict key (paths as a tuple), or None when it holds anything but strings."""
    if isinstance(path, str):
        paths: tuple | None = (path,)
    else:
        paths = tuple(path) if isinstance(path, (list, tuple)) else None
        if paths is None or not all(isinstance(p, str) for p in paths):
            return None
    if not isinstance(gold, str) or not (pred is None or isinstance(pred, str)):
        return None
    return paths, pred, gold


def _distinct_items(items: Iterable[tuple[Any, Any, Any]]) -> tuple[list[tuple[Any, Any, Any]], list[int]]:
    """The batch's distinct items in first-seen order, and for each item the index of its distinct one.

    Items with anything but strings (no :func:`_item_key`) are never merged.
    """
    distinct: list[tuple[Any, Any, Any]] = []
    first: dict[tuple, int] = {}
    where = []
    for item in items:
        key = _item_key(*item)
        i = first.get(key) if key is not None else None
        if i is None:
            i = len(distinct)
            distinct.append(item)
            if key is not None:
                first[key] = i
        where.append(i)
    return distinct, where


def _batch_work(items: Iterable[tuple[Any, Any, Any]], opts: CompareOptions) -> list[tuple[str, Any, str]]:
    """``(first db path, prediction, prepared gold)`` for the items with a path and a gold."""
    work = []
    for path, pred, gold in items:
        first = path if isinstance(path, str) else (next(iter(path), None) if path else None)
        if isinstance(first, str) and isinstance(gold, str) and gold.strip():
            work.append((first, pred, opts.prepare(gold)))
    return work


_shared: dict[EngineSettings, ExecutionEngine] = {}
_shared_lock = ForkSafeLock()
_engines: "weakref.WeakSet[ExecutionEngine]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for eng in list(_engines):
        eng._after_fork_in_child()


if hasattr(os, "register_at_fork"):  # a DataLoader or multiprocessing child forked from a trainer
    os.register_at_fork(after_in_child=_after_fork_in_child)


def shared_engine(settings: EngineSettings | None = None) -> ExecutionEngine:
    """One engine per process and settings; started lazily, closed at exit.

    Args:
        settings: the engine's settings (default :class:`EngineSettings`).

    Returns:
        The process's engine for these settings (a new one if the last was closed).
    """
    s = settings or EngineSettings()
    with _shared_lock:
        eng = _shared.get(s)
        if eng is None or eng.pool.closed:
            eng = ExecutionEngine(s)
            _shared[s] = eng
        return eng
