"""``bench profile``: where a caller's time goes, per stage, from :mod:`cProfile` in every thread.

Each caller runs once per round in a fresh process (as in ``bench engine``) with a profiler in the
calling thread and in every thread it starts (the hook scores in a coalescer thread). A stage is the
cumulative time of the functions that make it (:data:`STAGES`), as a fraction of the caller's
profiled wall time, so the figures hold on a loaded machine better than wall times do. Stages nest
(the lane's SQLite runs inside the engine's batch), so the fractions do not add up to 1. Each run also
reports SQLite's own time on the same statements (:mod:`extensions.cli.bench.sqlite_ref`) measured in
the same process, and the call counts that a change should move.

>>> stage_of(("/x/extensions/sql/extract.py", 0, "extract_sql"))
'extraction'
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import sys
import threading
from collections.abc import Callable
from typing import Any

from extensions.cli.bench.callers import CLOCK_OBSERVERS, RunOptions, run_async, run_cold, run_hook_async
from extensions.cli.bench.sqlite_ref import sqlite_reference
from extensions.cli.bench.workload import Sample, build_workload, spider_examples
from extensions.data.demo import build_demo_databases, demo_examples
from extensions.execution.engine import EngineSettings

# stage -> (file suffix, function name) whose cumulative time is the stage's
STAGES: dict[str, tuple[str, str]] = {
    "scoring in the coalescer thread": ("_util/coalesce.py", "_run"),
    "config lookup per call": ("integrations/computers.py", "config_key"),
    "ground truth parsing": ("data/layout.py", "parse_ground_truth"),
    "extraction": ("sql/extract.py", "extract_sql"),
    "nesting guard": ("sql/guard.py", "check_sql"),
    "engine: distinct statements (execute_batch)": ("execution/engine.py", "execute_batch"),
    "sandboxed SQLite in the lane": ("execution/sandbox.py", "run"),
    "waiting on a worker": ("execution/pool.py", "execute"),
    "engine: per-sample verdicts (match)": ("execution/engine.py", "match"),
    "result sizing (approx_bytes)": ("_util/cache.py", "approx_bytes"),
    "shaping": ("rewards/combine.py", "_shaping"),
    "breakdown": ("rewards/combine.py", "_finish"),
}
CALLERS: dict[str, Callable[[list[Sample], RunOptions], dict]] = {
    "hook_async_engine_only": lambda s, o: run_hook_async(s, o, False),
    "hook_async_shaping": lambda s, o: run_hook_async(s, o, True),
    "engine_async": run_async,
}


def stage_of(key: tuple[str, int, str]) -> str | None:
    """The stage a pstats function key ``(file, line, name)`` stands for, or None.

    Args:
        key: a key of ``pstats.Stats.stats``.

    Returns:
        The stage name from :data:`STAGES`.
    """
    path = key[0].replace(os.sep, "/")
    for stage, (suffix, name) in STAGES.items():
        if key[2] == name and path.endswith(suffix):
            return stage
    return None


def _stage_sums(profiles: list[cProfile.Profile]) -> tuple[dict[str, float], dict[str, int]]:
    """Cumulative seconds and calls per stage so far, over ``profiles`` (read while they run)."""
    seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)
    calls: dict[str, int] = dict.fromkeys(STAGES, 0)
    for prof in list(profiles):
        for e in prof.getstats():
            code = e.code
            if isinstance(code, str):
                continue
            stage = stage_of((code.co_filename, 0, code.co_name))
            if stage is not None:
                seconds[stage] += e.totaltime
                calls[stage] += e.callcount
    return seconds, calls


def profiled(caller: str, samples: list[Sample], opts: RunOptions) -> dict:
    """Run ``caller`` once with a profiler in every thread; its wall time, stage times and call counts.

    Only the timed window counts (the warm-up of the workers is left out): the stage sums are
    read when the clock starts and when it stops.

    Args:
        caller: a key of :data:`CALLERS`.
        samples: the workload.
        opts: the engine settings and semantics.

    Returns:
        ``wall_s``, ``cpu_s`` (the calling process's), ``stages`` (cumulative seconds), ``calls`` (per
        stage) and ``sqlite`` (the reference).
    """
    profiles: list[cProfile.Profile] = []
    marks: list[tuple[dict[str, float], dict[str, int]]] = []

    def start_in_thread(*_: Any) -> None:
        prof = cProfile.Profile()
        profiles.append(prof)
        prof.enable()  # replaces this hook for the rest of the thread

    main = cProfile.Profile()
    profiles.append(main)
    CLOCK_OBSERVERS.append(lambda _: marks.append(_stage_sums(profiles)))
    threading.setprofile(start_in_thread)
    main.enable()
    try:
        out = CALLERS[caller](samples, opts)
    finally:
        main.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        CLOCK_OBSERVERS.clear()
    (s0, c0), (s1, c1) = marks[0], marks[-1]
    return {
        "wall_s": out["wall_s"],
        "cpu_s": out["caller_cpu_s"],
        "stages": {k: s1[k] - s0[k] for k in STAGES},
        "calls": {k: c1[k] - c0[k] for k in STAGES},
        "sqlite": sqlite_reference(samples),
    }


def _summary(runs: list[dict]) -> dict:
    """Median wall time, and each stage's median fraction of the wall time over the rounds."""
    out: dict[str, Any] = {
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "sqlite_s": statistics.median(r["sqlite"]["total_s"] for r in runs),
        "calls": runs[0]["calls"],
    }
    out["overhead_beyond_sqlite"] = statistics.median(r["wall_s"] / r["sqlite"]["total_s"] for r in runs)
    out["fractions"] = {s: statistics.median(r["stages"][s] / r["wall_s"] for r in runs) for s in STAGES}
    return out


def workload(name: str, shared: str, cache_dir: str, prompts: int, rollouts: int, seed: int = 0) -> list[Sample]:
    """The GRPO-shaped workload on ``bundled`` (built under ``cache_dir``) or ``spider`` (from ``shared``).

    Args:
        name: ``bundled`` or ``spider``.
        shared, cache_dir: Spider dev's folder; where the demo databases are kept.
        prompts, rollouts, seed: as for :func:`~extensions.cli.bench.workload.build_workload`.

    Returns:
        The samples.

    Raises:
        SystemExit: ``spider`` without Spider dev at ``shared``.
    """
    if name == "bundled":
        examples, paths = demo_examples(), build_demo_databases(os.path.join(cache_dir, "demo"))
    else:
        sp = spider_examples(shared)
        if sp is None:
            raise SystemExit(f"error: --shared: no Spider dev at {shared}")
        examples, paths = sp
    return build_workload(examples, paths, prompts=prompts, rollouts=rollouts, seed=seed)


def cmd_profile(args: argparse.Namespace) -> dict:
    """``bench profile``: every caller of ``--callers`` (default: the hook both ways and the engine's async caller).

    Args:
        args: the bench's options (``--datasets`` bundled/spider, ``--repeats`` rounds, ``--prompts``...).

    Returns:
        Per dataset and caller: the median wall time, SQLite's own time and the stage fractions.
    """
    names = [n for n in (args.callers or ",".join(CALLERS)).split(",") if n]
    unknown = [n for n in names if n not in CALLERS]
    if unknown:
        raise SystemExit(f"error: --callers: {unknown[0]!r} cannot be profiled (one of {', '.join(CALLERS)})")
    opts = RunOptions(
        EngineSettings(
            workers=args.workers, timeout_s=args.timeout, adaptive_timeout=False, inline_budget_ms=args.inline_budget_ms
        )
    )
    out: dict[str, Any] = {}
    for ds in [d for d in args.datasets.split(",") if d in ("bundled", "spider")]:
        samples = workload(ds, args.shared, args.cache_dir, args.prompts, args.rollouts, args.seed)
        runs: dict[str, list[dict]] = {n: [] for n in names}
        for rnd in range(max(1, args.repeats)):
            for n in names:
                print(f"[bench] profile {ds} round {rnd + 1}/{args.repeats}: {n}", file=sys.stderr, flush=True)
                runs[n].append(run_cold(profiled, n, samples, opts))
        out[ds] = {"samples": len(samples), "rounds": max(1, args.repeats), **{n: _summary(r) for n, r in runs.items()}}
    return out
