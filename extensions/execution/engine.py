"""The execution engine: pool + caches + comparison, one call per (prediction, gold).

>>> from extensions.data.demo import build_demo_databases
>>> import tempfile, os
>>> paths = build_demo_databases(tempfile.mkdtemp())
>>> with ExecutionEngine(workers=1) as eng:
...     r = eng.match(paths["hr"], "SELECT count(*) FROM employees", "SELECT COUNT(id) FROM employees")
>>> r.match, r.status.value
(True, 'ok')
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from extensions._util.coalesce import Coalescer, by_group
from extensions._util.forksafe import ForkSafeLock
from extensions._util.log import log_once
from extensions._util.cache import ResultCache
from extensions.execution.compare import SEMANTICS, Semantics, prepare_sql, results_match
from extensions.execution.pool import WorkerPool
from extensions.execution.sandbox import Limits, SandboxConnection, db_signature, open_sandbox
from extensions.execution.status import ExecResult, Status
from extensions.sql.normalize import cache_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineSettings:
    """Every knob of the engine, with defaults for a 2-to-64-core trainer node.

    ``adaptive_timeout``: a prediction's timeout is
    ``clamp(adaptive_k * gold_time, adaptive_min_s, timeout_s)``. See the
    README section "Adaptive timeout" for the measurement behind the defaults.

    ``verdict_cache_entries``: recent ``match`` verdicts, keyed by the exact
    (database file, prediction, gold, comparison options); a GRPO group's
    repeated completions skip normalisation, cache look-ups and comparison.
    Bounded by entries and by the result cells it keeps alive
    (``cache_max_cells``). 0 disables it.

    ``inline_budget_ms``: each new statement is first tried in the calling
    thread, on a sandbox connection with this deadline, values of at most
    ``inline_max_value_bytes`` and at most ``inline_max_rows`` rows. What
    that settles (rows, or a syntax/schema/forbidden compile error) is the
    verdict; anything else (the deadline, a cap, a function whose result can
    outgrow the cap, any runtime error) goes to a worker process with the full
    timeout and limits. A database whose gold queries take more than half the
    budget skips the attempt. 0 sends every statement to a worker. See the
    README section "Inline lane".

    ``stat_ttl_s``: a database file's (mtime, size) signature is re-read at
    most this often per path; a replaced file is noticed within this delay
    (0 = stat on every call).
    """

    workers: int = 0  # 0 = os.cpu_count()
    timeout_s: float = 10.0
    adaptive_timeout: bool = True
    adaptive_k: float = 20.0
    adaptive_min_s: float = 1.0
    grace_s: float = 1.0
    max_rows: int = 100_000
    max_value_bytes: int = 16 * 1024 * 1024
    max_sql_bytes: int = 1_000_000
    memory_mb: int = 2048
    max_open_connections: int = 32
    gold_cache_entries: int = 50_000
    result_cache_entries: int = 20_000
    cache_max_cells: int = 20_000_000
    immutable: bool = True
    inline_budget_ms: float = 10.0
    inline_max_value_bytes: int = 4096
    inline_max_rows: int = 10_000
    verdict_cache_entries: int = 50_000
    stat_ttl_s: float = 1.0

    def replace(self, **kw: object) -> "EngineSettings":
        return dataclasses.replace(self, **kw)


@dataclass(frozen=True)
class MatchResult:
    """Verdict for one prediction against one gold query.

    ``status`` is the prediction's execution status, or ``gold_error`` when the
    gold query failed (never a match), or ``db_missing``/``db_corrupt``.
    """

    match: bool
    status: Status
    detail: str = ""
    pred: ExecResult | None = None
    gold: ExecResult | None = None
    timeout_s: float = 0.0

    @property
    def executed(self) -> bool:
        """The prediction ran and returned rows (whatever their value)."""
        return self.pred is not None and self.pred.status is Status.OK


def _cells(r: ExecResult) -> int:
    return r.n_cells


def _as_cached(r: ExecResult | None) -> ExecResult | None:
    if r is None or r.cached:
        return r
    return ExecResult(r.status, r.rows, r.columns, r.elapsed_s, r.detail, r.timeout_s, True)


# Verdicts that depend on more than the (file, SQL) pair: never memoised.
_VOLATILE = frozenset({Status.INTERNAL_ERROR, Status.DB_MISSING, Status.DB_CORRUPT})


@functools.lru_cache(maxsize=65536)
def _abspath(path: str) -> str:
    return os.path.abspath(path)


# Outcomes of an inline run that stand as the verdict. Everything else (the
# inline deadline, the inline size caps, any runtime surprise) goes to a worker.
_INLINE_FINAL = frozenset({Status.OK, Status.SYNTAX_ERROR, Status.SCHEMA_ERROR, Status.FORBIDDEN})


class _FileConns:
    """The inline lane's connections to one database file (``sig``: its (mtime, size))."""

    __slots__ = ("sig", "idle", "opened")

    def __init__(self, sig: tuple[int, int]) -> None:
        self.sig = sig
        self.idle: list[SandboxConnection] = []
        self.opened = 0


class _InlineLane:
    """First attempt at a statement, in the calling thread, under tight limits.

    The same sandbox as the workers (read-only URI, ``query_only``, the
    authorizer, one statement) but a short deadline (``budget_s``), a small
    value cap and row cap, and a small page cache. Statements calling a
    function whose result can outgrow its arguments are refused at compile
    time (``printf`` returns NULL past the value cap instead of failing). What
    the lane settles (rows within its caps, or a compile error: syntax,
    unknown name, forbidden statement) is the verdict a worker gives, because
    both run the same code on the same SQLite library. Anything else returns
    None and the statement goes to a worker process with the full timeout and
    limits, which is where a runaway, a memory bomb or a query stuck in C
    ends. SQLite checks the deadline every 1,000 VM steps, and one step works
    on values of at most ``value_bytes`` (4 KiB by default, where the slowest
    built-ins, a quadratic ``instr`` or ``replace``, take about 0.05 ms), so a
    hostile statement holds the calling thread a few milliseconds past the
    budget (about 6 ms between two checks for such calls), and the memory it
    can touch is bounded by what one thread allocates in that time.

    Each database gets at most ``per_path`` connections; a statement that
    finds them all in use goes straight to a worker process instead of
    opening another (opening a file and reading its schema costs more than
    a round trip), so the lane and the workers share the load of a GRPO
    group scored from many threads. At most ``max_open`` databases keep
    connections.
    """

    def __init__(
        self, limits: Limits, max_open: int, immutable: bool, *, per_path: int = 2, cache_kib: int = 512
    ) -> None:
        self.limits = limits
        self.max_open = max(1, max_open)
        self.per_path = max(1, per_path)
        self.immutable = immutable
        self.cache_kib = cache_kib
        self._lock = threading.Lock()
        self._files: "OrderedDict[str, _FileConns]" = OrderedDict()
        self.settled = 0  # statements answered inline
        self.handed_over = 0  # inline attempts that went on to a worker
        self.busy = 0  # statements sent straight to a worker: every connection to the file was in use

    # The common case takes and gives back without the lock: list.pop/append and
    # dict.get are atomic under the GIL. The lock guards opening and evicting.
    def _take(self, path: str, sig: tuple[int, int]) -> tuple[SandboxConnection, _FileConns] | None | bool:
        """An idle or new connection and its file; False when ``per_path`` are all busy; None when it cannot open."""
        f = self._files.get(path)
        if f is not None and f.sig == sig:
            try:
                return f.idle.pop(), f
            except IndexError:
                if f.opened >= self.per_path:
                    return False
        stale: list[SandboxConnection] = []
        with self._lock:
            f = self._files.get(path)
            if f is None or f.sig != sig:
                if f is not None:
                    stale += self._files.pop(path).idle
                f = self._files[path] = _FileConns(sig)
                while len(self._files) > self.max_open:
                    stale += self._files.popitem(last=False)[1].idle
            else:
                self._files.move_to_end(path)
            full = f.opened >= self.per_path
            if not full:
                f.opened += 1
        for c in stale:
            c.close()
        if full:
            return False
        opened = open_sandbox(path, self.limits, immutable=self.immutable, cache_kib=self.cache_kib, refuse_growing=True)
        if isinstance(opened, ExecResult):
            with self._lock:
                f.opened -= 1
            return None
        return opened, f

    def _give_back(self, path: str, conn: SandboxConnection, f: _FileConns) -> None:
        if self._files.get(path) is f:
            f.idle.append(conn)
        else:  # the file changed or was evicted meanwhile
            conn.close()

    def run(self, path: str, sig: tuple[int, int], sql: str, budget_s: float, timeout_s: float) -> ExecResult | None:
        """The verdict if the inline attempt settles it, else None (a worker must run it)."""
        taken = self._take(path, sig)
        if not isinstance(taken, tuple):
            if taken is False:
                self.busy += 1
            else:
                self.handed_over += 1  # the worker reports db_missing/db_corrupt with its own check
            return None
        conn, f = taken
        try:
            r = conn.run(sql, budget_s)
            refused = conn.refused
        finally:
            self._give_back(path, conn, f)
        if refused or r.status not in _INLINE_FINAL:
            self.handed_over += 1
            return None
        self.settled += 1
        return ExecResult(r.status, r.rows, r.columns, r.elapsed_s, r.detail, timeout_s)

    def open_connections(self) -> int:
        with self._lock:
            return sum(f.opened for f in self._files.values())

    def close(self) -> None:
        with self._lock:
            conns = [c for f in self._files.values() for c in f.idle]
            self._files.clear()
        for c in conns:
            c.close()


# match_async's arguments: (db_path, pred_sql, gold_sql, semantics, keep_distinct, empty_result_is_wrong, order_matters)
_MatchArgs = tuple


class ExecutionEngine:
    """Thread-safe front door to the sandbox. Construct once per process and reuse."""

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
        )
        self.gold_cache: ResultCache[ExecResult] = ResultCache(s.gold_cache_entries, s.cache_max_cells)
        self.result_cache: ResultCache[ExecResult] = ResultCache(s.result_cache_entries, s.cache_max_cells)
        self.verdict_cache: ResultCache[MatchResult] = ResultCache(s.verdict_cache_entries, s.cache_max_cells)
        self.verdict_hits = 0
        self._stats: dict[str, tuple[float, tuple[int, int] | None]] = {}
        self.executions = 0  # distinct statements actually run (inline or in a worker)
        self.worker_executions = 0  # of which sent to a worker process
        self._inline = _InlineLane(
            Limits(
                max_rows=max(1, min(s.max_rows, s.inline_max_rows)),
                max_value_bytes=max(1000, min(s.max_value_bytes, s.inline_max_value_bytes)),
                max_sql_bytes=s.max_sql_bytes,
            ),
            s.max_open_connections,
            s.immutable,
        )
        self._inline_budget_s = max(0.0, s.inline_budget_ms) / 1000.0
        # Databases whose gold queries are too slow for the inline lane (path -> bool).
        self._slow: dict[str, bool] = {}
        self._coalescer: Coalescer[_MatchArgs, MatchResult] = Coalescer(
            self._match_batch,
            lambda item, exc: MatchResult(False, Status.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"[:300]),
            name="match_async",
        )

    # -- lifecycle -----------------------------------------------------------------------
    def _after_fork_in_child(self) -> None:
        """In a forked child: leave the parent's workers and connections alone, start afresh.

        Locks held by the parent's other threads at fork time, their in-flight
        computations and the worker pipes all belong to the parent; the child
        gets new (lazily started) workers, connections and empty caches.
        """
        closed = self.pool.closed
        self.pool.abandon()
        self._setup()
        if closed:
            self.pool.close()

    def close(self) -> None:
        self.pool.close()
        self._inline.close()

    def __enter__(self) -> "ExecutionEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- execution ---------------------------------------------------------------------
    def _signature(self, path: str) -> tuple[int, int] | None:
        """``db_signature(path)``, re-read at most every ``stat_ttl_s`` seconds."""
        ttl = self.settings.stat_ttl_s
        if ttl <= 0:
            return db_signature(path)
        now = time.monotonic()
        entry = self._stats.get(path)
        if entry is not None and now - entry[0] < ttl:
            return entry[1]
        sig = db_signature(path)
        if len(self._stats) >= 65536:
            self._stats.clear()
        self._stats[path] = (now, sig)
        return sig

    def _run(
        self,
        cache: ResultCache[ExecResult],
        db_path: str,
        sql: str,
        timeout_s: float,
        sig: tuple[int, int] | None = None,
        inline: bool = True,
        *,
        lane_only: bool = False,
    ) -> ExecResult | None:
        """The statement's result: from ``cache``, else the inline lane, else a worker.

        ``inline=False`` skips the lane. ``lane_only=True`` never uses a worker:
        it returns None when the lane cannot settle the statement (a batch
        caller then sends those to the workers in parallel).
        """
        if sig is None:
            sig = self._signature(db_path) if isinstance(db_path, str) else None
        if sig is None:
            return ExecResult(Status.DB_MISSING, detail=f"no database file at {db_path!r}")
        if not isinstance(sql, str) or not sql.strip():
            return ExecResult(Status.SYNTAX_ERROR, detail="empty SQL")
        if len(sql) > self.settings.max_sql_bytes:
            return ExecResult(Status.TOO_LARGE, detail="SQL longer than max_sql_bytes")
        key = (_abspath(db_path), sig, cache_key(sql))
        is_gold = cache is self.gold_cache

        def usable(r: ExecResult) -> bool:
            return not (r.status is Status.TIMEOUT and r.timeout_s < timeout_s)

        def lane_allowed() -> bool:
            return inline and self._inline_budget_s > 0 and not self._slow.get(db_path, False) and not self.pool.closed

        def lane() -> ExecResult | None:
            r = self._inline.run(db_path, sig, sql, min(self._inline_budget_s, timeout_s), timeout_s)
            if r is not None and is_gold:
                self._note_speed(db_path, r.elapsed_s)
            return r

        result = None
        if not is_gold:  # a prediction equal to a gold query reuses its result
            result = self.gold_cache.get(key)
            if result is not None and not usable(result):
                result = None
        if result is None and lane_only:
            result = cache.get(key)
            if result is None or not usable(result):
                if not lane_allowed():
                    return None
                result = lane()
                if result is None:
                    return None
                self.executions += 1
                cache.put(key, _as_cached(result), _cells(result))
        elif result is None:

            def compute() -> ExecResult:
                self.executions += 1
                if lane_allowed():
                    r = lane()
                    if r is not None:
                        return r
                self.worker_executions += 1
                r = self.pool.execute(db_path, sql, timeout_s, sig)
                if r.status is Status.INTERNAL_ERROR:
                    log_once(log, f"worker:{r.detail[:40]}", "sandbox worker reported an internal error: %s", r.detail)
                elif is_gold:
                    self._note_speed(db_path, timeout_s if r.status is Status.TIMEOUT else r.elapsed_s)
                return r

            result, _ = cache.get_or_compute(
                key,
                compute,
                cost=_cells,
                usable=usable,
                cacheable=lambda r: r.status is not Status.INTERNAL_ERROR,
                store=_as_cached,
            )
        if result.status is Status.OK and result.elapsed_s > timeout_s:
            # Ran under a longer timeout earlier; keep verdicts consistent.
            return ExecResult(Status.TIMEOUT, detail="exceeds this call's timeout (cached run)", timeout_s=timeout_s)
        return result

    def _note_speed(self, path: str, gold_elapsed_s: float) -> None:
        """Remember whether ``path``'s gold queries fit the inline lane (half its budget)."""
        if len(self._slow) >= 65536:
            self._slow.clear()
        self._slow[path] = gold_elapsed_s > self._inline_budget_s / 2

    def execute(
        self,
        db_path: str,
        sql: str,
        *,
        timeout_s: float | None = None,
        _sig: tuple[int, int] | None = None,
        _inline: bool = True,
    ) -> ExecResult:
        """Execute ``sql`` read-only on ``db_path``; recent identical statements are reused."""
        try:
            r = self._run(self.result_cache, db_path, sql, timeout_s or self.settings.timeout_s, _sig, _inline)
            assert r is not None  # only lane_only runs return None
            return r
        except Exception as exc:  # a bug: a defined status, logged once
            log_once(log, f"execute:{type(exc).__name__}", "internal error in execute: %r", exc, exc_info=True)
            return ExecResult(Status.INTERNAL_ERROR, detail=f"{type(exc).__name__}: {exc}"[:300])

    def execute_gold(
        self, db_path: str, sql: str, *, _sig: tuple[int, int] | None = None, _inline: bool = True
    ) -> ExecResult:
        """Execute a gold query with the full timeout; cached per (database, SQL)."""
        try:
            r = self._run(self.gold_cache, db_path, sql, self.settings.timeout_s, _sig, _inline)
            assert r is not None  # only lane_only runs return None
            return r
        except Exception as exc:
            log_once(log, f"gold:{type(exc).__name__}", "internal error in execute_gold: %r", exc, exc_info=True)
            return ExecResult(Status.INTERNAL_ERROR, detail=f"{type(exc).__name__}: {exc}"[:300])

    def timeout_for(self, gold: ExecResult) -> float:
        s = self.settings
        if not s.adaptive_timeout:
            return s.timeout_s
        return min(s.timeout_s, max(s.adaptive_min_s, s.adaptive_k * gold.elapsed_s))

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
    ) -> MatchResult:
        """Execute prediction and gold and compare them; never raises.

        ``db_path`` may be a list of files (Spider test-suite databases): the
        prediction matches only if it matches on every one of them.
        """
        try:
            if semantics not in SEMANTICS:
                raise ValueError(f"unknown semantics {semantics!r}; allowed: {', '.join(SEMANTICS)}")
            paths = [db_path] if isinstance(db_path, str) else list(db_path or [])
            if not paths:
                return MatchResult(False, Status.DB_MISSING, "no database given")
            last: MatchResult | None = None
            for path in paths:
                last = self._match_one(path, pred_sql, gold_sql, semantics, keep_distinct, empty_result_is_wrong, order_matters)
                if not last.match:
                    return last
            assert last is not None
            return last
        except ValueError:
            raise
        except Exception as exc:
            log_once(log, f"match:{type(exc).__name__}", "internal error in match: %r", exc, exc_info=True)
            return MatchResult(False, Status.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"[:300])

    def _match_one(
        self,
        db_path: str,
        pred_sql: str | None,
        gold_sql: str,
        semantics: Semantics,
        keep_distinct: bool,
        empty_result_is_wrong: bool,
        order_matters: bool | None,
    ) -> MatchResult:
        if not isinstance(gold_sql, str) or not gold_sql.strip():
            return MatchResult(False, Status.GOLD_ERROR, "gold SQL is missing")
        sig = self._signature(db_path) if isinstance(db_path, str) else None
        if sig is None or self.verdict_cache.max_entries == 0 or not (pred_sql is None or isinstance(pred_sql, str)):
            return self._compare(db_path, sig, pred_sql, gold_sql, semantics, keep_distinct, empty_result_is_wrong, order_matters)
        key = (_abspath(db_path), sig, pred_sql, gold_sql, semantics, keep_distinct, empty_result_is_wrong, order_matters)
        memo = self.verdict_cache.get(key)
        if memo is not None:
            self.verdict_hits += 1
            return memo
        m = self._compare(db_path, sig, pred_sql, gold_sql, semantics, keep_distinct, empty_result_is_wrong, order_matters)
        if m.status not in _VOLATILE and (m.gold is None or m.gold.status not in _VOLATILE):
            cost = (m.pred.n_cells if m.pred is not None else 1) + (m.gold.n_cells if m.gold is not None else 1)
            self.verdict_cache.put(key, MatchResult(m.match, m.status, m.detail, _as_cached(m.pred), _as_cached(m.gold), m.timeout_s), cost)
        return m

    def _compare(
        self,
        db_path: str,
        sig: tuple[int, int] | None,
        pred_sql: str | None,
        gold_sql: str,
        semantics: Semantics,
        keep_distinct: bool,
        empty_result_is_wrong: bool,
        order_matters: bool | None,
    ) -> MatchResult:
        gold_prepared = prepare_sql(gold_sql, semantics=semantics, keep_distinct=keep_distinct)
        gold = self.execute_gold(db_path, gold_prepared, _sig=sig)
        if gold.status in (Status.DB_MISSING, Status.DB_CORRUPT):
            return MatchResult(False, gold.status, gold.detail, None, gold)
        if not isinstance(pred_sql, str) or not pred_sql.strip():
            status = Status.GOLD_ERROR if gold.status is not Status.OK else Status.SYNTAX_ERROR
            return MatchResult(False, status, "no SQL in the completion", None, gold)
        if gold.status is not Status.OK:
            # Never a match; the prediction still runs so callers know whether it executes.
            pred = self.execute(db_path, prepare_sql(pred_sql, semantics=semantics, keep_distinct=keep_distinct), _sig=sig)
            return MatchResult(False, Status.GOLD_ERROR, f"gold {gold.status.value}: {gold.detail}", pred, gold, self.settings.timeout_s)
        timeout_s = self.timeout_for(gold)
        pred_prepared = prepare_sql(pred_sql, semantics=semantics, keep_distinct=keep_distinct)
        # A gold that needs more than half the inline budget: its predictions go straight to a worker.
        inline = gold.elapsed_s <= self._inline_budget_s / 2
        pred = self.execute(db_path, pred_prepared, timeout_s=timeout_s, _sig=sig, _inline=inline)
        if pred.status is not Status.OK:
            return MatchResult(False, pred.status, pred.detail, pred, gold, timeout_s)
        assert gold.rows is not None and pred.rows is not None
        if empty_result_is_wrong and not gold.rows and not pred.rows:
            return MatchResult(False, Status.OK, "both results empty (empty_result_is_wrong)", pred, gold, timeout_s)
        ok = results_match(gold.rows, pred.rows, semantics=semantics, gold_sql=gold_prepared, order_matters=order_matters)
        return MatchResult(ok, Status.OK, "" if ok else "results differ", pred, gold, timeout_s)

    # -- batches ------------------------------------------------------------------------
    def prefetch(
        self,
        items: Iterable[tuple[str | Sequence[str], str | None, str]],
        *,
        semantics: Semantics = "spider",
        keep_distinct: bool = False,
    ) -> None:
        """Run the distinct statements of a batch of ``(db_path, pred_sql, gold_sql)`` ahead of time.

        Golds first, then predictions (their adaptive timeout needs the gold's
        time). Each wave first goes through the inline lane in the calling
        thread, one statement after another (no thread hand-offs); what the
        lane cannot settle then runs in the worker processes, one thread per
        worker, so runaways still overlap. Only the caches are filled:
        :meth:`match` afterwards gives exactly the verdicts it gives without
        this call, but from cache. A batch caller (verl's
        ``BatchRewardManager``) avoids the GIL hand-offs of many threads
        calling one at a time. Never raises.
        """
        try:
            work = []
            for path, pred, gold in items:
                first = path if isinstance(path, str) else (next(iter(path), None) if path else None)
                if isinstance(first, str) and isinstance(gold, str) and gold.strip():
                    work.append((first, pred, prepare_sql(gold, semantics=semantics, keep_distinct=keep_distinct)))
            golds = list(dict.fromkeys((p, g) for p, _, g in work))
            gold_results = dict(zip(golds, self._settle([(p, g, self.settings.timeout_s, True) for p, g in golds], gold=True)))
            preds: dict[tuple[str, str], tuple[float, bool]] = {}
            for path, pred, gold in work:
                g = gold_results[(path, gold)]
                if not isinstance(pred, str) or not pred.strip() or g.status in (Status.DB_MISSING, Status.DB_CORRUPT):
                    continue
                timeout = self.timeout_for(g) if g.status is Status.OK else self.settings.timeout_s
                inline = g.status is not Status.OK or g.elapsed_s <= self._inline_budget_s / 2
                key = (path, prepare_sql(pred, semantics=semantics, keep_distinct=keep_distinct))
                before = preds.get(key, (0.0, True))
                preds[key] = (max(before[0], timeout), before[1] and inline)
            self._settle([(p, sql, t, inline) for (p, sql), (t, inline) in preds.items()], gold=False)
        except Exception as exc:  # the per-sample calls that follow still give every verdict
            log_once(log, f"prefetch:{type(exc).__name__}", "internal error in prefetch: %r", exc, exc_info=True)

    def _settle(self, jobs: list[tuple[str, str, float, bool]], *, gold: bool) -> list[ExecResult]:
        """Results of ``(db_path, sql, timeout_s, inline)`` jobs: the lane here first, then the workers in parallel."""
        cache = self.gold_cache if gold else self.result_cache
        results: list[ExecResult | None] = [
            self._run(cache, p, sql, t, None, inline, lane_only=True) if inline else None for p, sql, t, inline in jobs
        ]
        rest = [i for i, r in enumerate(results) if r is None]
        if rest:

            def run(i: int) -> ExecResult:
                p, sql, t, _ = jobs[i]
                if gold:
                    return self.execute_gold(p, sql, _inline=False)
                return self.execute(p, sql, timeout_s=t, _inline=False)

            with ThreadPoolExecutor(max(1, min(self.pool.size, len(rest))), thread_name_prefix="prefetch") as ex:
                for i, r in zip(rest, ex.map(run, rest)):
                    results[i] = r
        return [r if r is not None else ExecResult(Status.INTERNAL_ERROR, detail="not run") for r in results]

    def match_many(
        self,
        items: Sequence[tuple[str | Sequence[str], str | None, str]],
        *,
        semantics: Semantics = "spider",
        keep_distinct: bool = False,
        empty_result_is_wrong: bool = False,
        order_matters: bool | None = None,
    ) -> list[MatchResult]:
        """:meth:`match` for a batch of ``(db_path, pred_sql, gold_sql)``: same verdicts, fewer hand-offs."""
        items = list(items)
        self.prefetch(items, semantics=semantics, keep_distinct=keep_distinct)
        return [
            self.match(path, pred, gold, semantics=semantics, keep_distinct=keep_distinct,
                       empty_result_is_wrong=empty_result_is_wrong, order_matters=order_matters)
            for path, pred, gold in items
        ]

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
    ) -> MatchResult:
        """:meth:`match` for coroutines; never raises (except ``ValueError`` for unknown ``semantics``).

        The calls awaited together on one event loop (verl's reward loop
        gathers a whole batch) are scored as one :meth:`match_many` call in a
        thread, with the same verdicts as :meth:`match`; the loop never blocks.

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
        if semantics not in SEMANTICS:
            raise ValueError(f"unknown semantics {semantics!r}; allowed: {', '.join(SEMANTICS)}")
        return await self._coalescer((db_path, pred_sql, gold_sql, semantics, keep_distinct, empty_result_is_wrong, order_matters))

    def _match_batch(self, items: list[_MatchArgs]) -> list[MatchResult]:
        """``match_many`` over items that may carry different comparison options."""

        def run(group: list[_MatchArgs]) -> list[MatchResult]:
            semantics, keep_distinct, empty_wrong, order = group[0][3:]
            return self.match_many([it[:3] for it in group], semantics=semantics, keep_distinct=keep_distinct,
                                   empty_result_is_wrong=empty_wrong, order_matters=order)

        return by_group(items, lambda it: it[3:], run)

    def stats(self) -> dict:
        return {
            "workers": self.pool.size,
            "executions": self.executions,
            "worker_executions": self.worker_executions,
            "inline": {"settled": self._inline.settled, "handed_over": self._inline.handed_over, "busy": self._inline.busy,
                       "open_connections": self._inline.open_connections(), "budget_ms": self.settings.inline_budget_ms},
            "match_async": {"batches": self._coalescer.batches, "calls": self._coalescer.items},
            "worker_restarts": self.pool.restarts,
            "gold_cache": {"entries": len(self.gold_cache), "cells": self.gold_cache.cells, "hits": self.gold_cache.hits, "misses": self.gold_cache.misses, "joined": self.gold_cache.joined},
            "result_cache": {"entries": len(self.result_cache), "cells": self.result_cache.cells, "hits": self.result_cache.hits, "misses": self.result_cache.misses, "joined": self.result_cache.joined},
            "verdict_cache": {"entries": len(self.verdict_cache), "cells": self.verdict_cache.cells, "hits": self.verdict_hits},
        }


_shared: dict[EngineSettings, ExecutionEngine] = {}
_shared_lock = ForkSafeLock()
_engines: "weakref.WeakSet[ExecutionEngine]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for eng in list(_engines):
        eng._after_fork_in_child()


if hasattr(os, "register_at_fork"):  # a DataLoader or multiprocessing child forked from a trainer
    os.register_at_fork(after_in_child=_after_fork_in_child)


def shared_engine(settings: EngineSettings | None = None) -> ExecutionEngine:
    """One engine per process and settings; started lazily, closed at exit."""
    s = settings or EngineSettings()
    with _shared_lock:
        eng = _shared.get(s)
        if eng is None or eng.pool.closed:
            eng = ExecutionEngine(s)
            _shared[s] = eng
        return eng
