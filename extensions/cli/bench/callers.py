"""The measured callers: each scores a workload the way one kind of trainer calls a reward, in a fresh process.

Every caller runs in a new process forked from a clean server process (:func:`run_cold`), so no cache
of an earlier run helps it; its engine's worker processes are started before the clock starts, as a
trainer's pool lives for the whole run. Each returns ``verdicts`` (execution match per sample),
``wall_s`` and, where it has one, the latency per call ``lat``.

>>> RunOptions(EngineSettings(workers=1)).semantics
'bird'
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from extensions.cli.bench.workload import ReferenceScorer, Sample, as_completion
from extensions.config import RewardConfig
from extensions.execution.engine import EngineSettings, ExecutionEngine
from extensions.rewards.combine import RewardComputer

# Called with True when a timed window of the async callers opens and False when it closes (``bench profile``).
CLOCK_OBSERVERS: list[Callable[[bool], None]] = []
WARM_UP = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r LIMIT {n}) SELECT count(*) FROM r"


@dataclass(frozen=True)
class RunOptions:
    """How a caller runs: the engine settings, the result semantics and the calling threads.

    Args:
        settings: the engine's settings.
        semantics: result comparison (``bird``: rows as sets, as the reference compares).
        threads: calling threads of the per-sample callers (verl's reward loop: the default pool).
    """

    settings: EngineSettings
    semantics: str = "bird"
    threads: int = 6


def run_cold(fn: Callable[..., dict], *args: Any) -> dict:
    """``fn(*args)`` in a fresh process (forked from a clean server process); returns its result.

    Args:
        fn: a module-level function returning a JSON-able dict.
        args: its picklable arguments.

    Returns:
        What ``fn`` returned.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(1, mp_context=ctx) as ex:
        return ex.submit(fn, *args).result()


def _usage() -> dict[str, float]:
    """CPU seconds and context switches of this process so far (zeros where unsupported)."""
    try:
        import resource

        u = resource.getrusage(resource.RUSAGE_SELF)
        return {"cpu_s": u.ru_utime + u.ru_stime, "voluntary_switches": u.ru_nvcsw, "involuntary_switches": u.ru_nivcsw}
    except (ImportError, OSError):  # pragma: no cover - non-Unix
        return {"cpu_s": 0.0, "voluntary_switches": 0, "involuntary_switches": 0}


def _warm_up(run_one: Callable[[int], Any], n: int) -> None:
    """Start every worker process: ``n`` distinct statements too slow for the inline lane, run at once."""
    with ThreadPoolExecutor(n) as ex:
        list(ex.map(run_one, range(n)))


def start_workers(eng: ExecutionEngine, db_path: str) -> None:
    """Start every worker process of ``eng`` before a timed run (a trainer's pool lives for the whole run).

    Args:
        eng: the engine.
        db_path: any database file it can open.
    """
    workers = eng.stats()["workers"]
    _warm_up(lambda i: eng.execute(db_path, WARM_UP.format(n=200_000 + i)), 2 * workers)


def _engine(samples: list[Sample], opts: RunOptions) -> ExecutionEngine:
    eng = ExecutionEngine(opts.settings)
    start_workers(eng, samples[0].db_path)
    return eng


def run_reference(samples: list[Sample], timeout_s: float) -> dict:
    """The reference: sequential, a new connection per call, thread timeouts, the gold re-run per sample."""
    ref = ReferenceScorer(timeout_s)
    verdicts, lat = [], []
    t0 = time.perf_counter()
    for s in samples:
        t = time.perf_counter()
        verdicts.append(ref.score(s))
        lat.append(time.perf_counter() - t)
    wall = time.perf_counter() - t0
    return {"verdicts": verdicts, "wall_s": wall, "lat": lat, "leaked_threads": ref.cleanup()}


def _full_config(opts: RunOptions) -> RewardConfig:
    """The full ``RewardComputer``'s config: arctic with every shaping component on (opted in explicitly)."""
    return RewardConfig(baseline="arctic", enable_enhanced=True, semantics=opts.semantics)


def _one_call(eng: ExecutionEngine, computer: Any, semantics: str) -> Callable[[Sample], tuple[bool, float, float]]:
    def call(s: Sample) -> tuple[bool, float, float]:
        t = time.perf_counter()
        if computer is not None:
            r = computer.compute_reward(as_completion(s.pred), {"sql": s.gold, "db_path": s.db_path})
            return r.acc == 1.0, time.perf_counter() - t, 0.0
        m = eng.match(s.db_path, s.pred, s.gold, semantics=semantics)  # type: ignore[arg-type]
        spent = sum(r.elapsed_s for r in (m.pred, m.gold) if r is not None and not r.cached)
        return m.match, time.perf_counter() - t, spent

    return call


def run_threads(samples: list[Sample], opts: RunOptions, enhanced: bool = False) -> dict:
    """Per-sample calls from ``opts.threads`` threads: how verl's reward loop calls a plain ``compute_score``."""
    eng = _engine(samples, opts)
    try:
        computer = RewardComputer(_full_config(opts), engine=eng) if enhanced else None
        call = _one_call(eng, computer, opts.semantics)
        usage0, t0 = _usage(), time.perf_counter()
        with ThreadPoolExecutor(opts.threads) as ex:
            out = list(ex.map(call, samples))
        wall = time.perf_counter() - t0
        usage1 = _usage()
        stats = eng.stats()
        stats["caller_process"] = {k: usage1[k] - usage0[k] for k in usage0}
    finally:
        eng.close()
    return {
        "verdicts": [o[0] for o in out],
        "wall_s": wall,
        "lat": [o[1] for o in out],
        "sqlite_s": [o[2] for o in out],
        "stats": stats,
    }


def run_batch(samples: list[Sample], opts: RunOptions, enhanced: bool = False) -> dict:
    """One call for the whole batch: ``match_many`` / ``compute_rewards`` (verl's ``BatchRewardManager``)."""
    eng = _engine(samples, opts)
    try:
        t0 = time.perf_counter()
        if enhanced:
            computer = RewardComputer(_full_config(opts), engine=eng)
            results = computer.compute_rewards(
                [as_completion(s.pred) for s in samples], [{"sql": s.gold, "db_path": s.db_path} for s in samples]
            )
            verdicts = [r.acc == 1.0 for r in results]
        else:
            matches = eng.match_many([(s.db_path, s.pred, s.gold) for s in samples], semantics=opts.semantics)  # type: ignore[arg-type]
            verdicts = [m.match for m in matches]
        wall = time.perf_counter() - t0
    finally:
        eng.close()
    return {"verdicts": verdicts, "wall_s": wall}


async def _gather(one: Callable[[Sample], Any], samples: list[Sample]) -> tuple[list[tuple[bool, float]], float, float]:
    """``one`` over every sample at once: the results with their latencies, the wall time and the process's CPU time."""

    async def timed(s: Sample) -> tuple[bool, float]:
        t = time.perf_counter()
        return await one(s), time.perf_counter() - t

    for observe in CLOCK_OBSERVERS:
        observe(True)
    cpu0, t0 = _usage()["cpu_s"], time.perf_counter()
    out = await asyncio.gather(*(timed(s) for s in samples))
    wall, cpu = time.perf_counter() - t0, _usage()["cpu_s"] - cpu0
    for observe in CLOCK_OBSERVERS:
        observe(False)
    return list(out), wall, cpu


def run_async(samples: list[Sample], opts: RunOptions, enhanced: bool = False) -> dict:
    """One coroutine per sample gathered on one event loop: ``match_async`` / ``compute_reward_async``."""
    eng = _engine(samples, opts)
    try:
        computer = RewardComputer(_full_config(opts), engine=eng) if enhanced else None

        async def one(s: Sample) -> bool:
            if computer is not None:
                r = await computer.compute_reward_async(as_completion(s.pred), {"sql": s.gold, "db_path": s.db_path})
                return r.acc == 1.0
            return (await eng.match_async(s.db_path, s.pred, s.gold, semantics=opts.semantics)).match  # type: ignore[arg-type]

        out, wall, cpu = asyncio.run(_gather(one, samples))
    finally:
        eng.close()
    return {"verdicts": [o[0] for o in out], "wall_s": wall, "lat": [o[1] for o in out], "caller_cpu_s": cpu}


def hook_overrides(opts: RunOptions, *, shaping: bool) -> list[str]:
    """The verl hook's ``overrides`` for the same engine settings and semantics; ``shaping=False`` is engine-only."""
    s = opts.settings
    out = [
        f"execution.workers={s.workers}",
        f"execution.timeout_s={s.timeout_s}",
        f"execution.inline_budget_ms={s.inline_budget_ms}",
        f"execution.adaptive_timeout={str(s.adaptive_timeout).lower()}",
        f"reward.semantics={opts.semantics}",
        "reward.baseline=arctic",
    ]
    out.append(f"execution.max_vm_steps={s.max_vm_steps}")
    return out + [f"reward.enable_enhanced={str(shaping).lower()}"]  # explicit: the shipped default is off


def run_hook_async(samples: list[Sample], opts: RunOptions, shaping: bool) -> dict:
    """What verl's reward loop does with the launcher's hook: one ``compute_score_async`` coroutine per rollout."""
    from extensions.integrations.verl import hook as verl_hook

    overrides = hook_overrides(opts, shaping=shaping)
    keys: set[str] = set()

    async def score(sql: str, gold: str, db_path: str) -> dict[str, float]:
        return await verl_hook.compute_score_async(
            "bench", as_completion(sql), {"sql": gold, "db_path": db_path}, None, overrides=overrides
        )

    async def one(s: Sample) -> bool:
        out = await score(s.pred, s.gold, s.db_path)
        keys.update(out)
        return out["acc"] == 1.0

    async def warm_then_measure() -> tuple[list[tuple[bool, float]], float, float]:
        n = 2 * max(1, opts.settings.workers or multiprocessing.cpu_count())
        await asyncio.gather(
            *(score(WARM_UP.format(n=200_000 + i), WARM_UP.format(n=200_000 + i), samples[0].db_path) for i in range(n))
        )
        return await _gather(one, samples)

    out, wall, cpu = asyncio.run(warm_then_measure())
    return {
        "verdicts": [o[0] for o in out],
        "wall_s": wall,
        "lat": [o[1] for o in out],
        "breakdown_keys": len(keys),
        "caller_cpu_s": cpu,
    }


def noop_floor(samples: list[Sample], threads: int = 6) -> dict:
    """Wall time of a no-op reward called per sample from ``threads`` threads: the ceiling on any speed-up."""
    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(lambda s: s.kind == "gold", samples))
    return {"wall_s": time.perf_counter() - t0}


def parse_floor(samples: list[Sample]) -> dict:
    """Cold parse time (one thread) of the distinct wrong statements the enhanced reward must analyse."""
    from extensions.sql.parse import parse_sql

    distinct = list(dict.fromkeys(s.pred for s in samples if s.kind in ("wrong", "syntax", "schema")))
    t0 = time.perf_counter()
    for sql in distinct:
        parse_sql(sql)
    return {"distinct_wrong_sql": len(distinct), "parse_ms": 1000 * (time.perf_counter() - t0)}
