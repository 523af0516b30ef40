"""``bench engine``: every caller on the same GRPO-shaped workload, against the reference, per dataset.

Callers run in rounds that interleave them, so a slow spell of a shared machine hits all alike; each
caller's median run is reported with the ratio to the reference of every round (``speedup_per_round``)
and its lowest verdict agreement with the reference over the rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

from extensions.cli.bench.callers import (
    RunOptions,
    noop_floor,
    parse_floor,
    run_async,
    run_batch,
    run_cold,
    run_hook_async,
    run_reference,
    run_threads,
)
from extensions.cli.bench.sqlite_ref import sqlite_reference
from extensions.cli.bench.workload import Sample, build_workload, spider_examples
from extensions.data.demo import build_demo_databases, demo_examples
from extensions.data.heavy import build_heavy_database, heavy_examples
from extensions.execution.engine import EngineSettings

Caller = tuple[Callable[..., dict], tuple]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else 0.0


def _agreement(a: list[bool], b: list[bool]) -> float:
    return sum(x == y for x, y in zip(a, b)) / max(1, len(a))


def _median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]


def callers(clean: list[Sample], opts: RunOptions, timeout_s: float, vm_steps: int = -1) -> dict[str, Caller]:
    """The measured callers by name: what each runs, with which arguments.

    With ``vm_steps`` >= 0, the engine-only hook and the engine's async caller also run with that
    VM-instruction budget (``execution.max_vm_steps``, 0 = none) beside the build's default, so the
    budget's cost is measured in the same rounds.
    """
    workers_only = RunOptions(opts.settings.replace(inline_budget_ms=0.0), opts.semantics, opts.threads)
    plan: dict[str, Caller] = {
        "reference": (run_reference, (clean, timeout_s)),
        "hook_async_engine_only": (run_hook_async, (clean, opts, False)),
        "hook_async_shaping": (run_hook_async, (clean, opts, True)),
        "engine": (run_threads, (clean, opts)),
        "engine_workers_only": (run_threads, (clean, workers_only)),
        "engine_async": (run_async, (clean, opts)),
        "engine_batch": (run_batch, (clean, opts)),
        "enhanced": (run_threads, (clean, opts, True)),
        "enhanced_async": (run_async, (clean, opts, True)),
        "enhanced_batch": (run_batch, (clean, opts, True)),
    }
    if vm_steps >= 0:
        budget = RunOptions(opts.settings.replace(max_vm_steps=vm_steps), opts.semantics, opts.threads)
        plan["hook_async_engine_only_vm_steps"] = (run_hook_async, (clean, budget, False))
        plan["engine_async_vm_steps"] = (run_async, (clean, budget))
    return plan


def select_callers(plan: dict[str, Caller], names: str) -> dict[str, Caller]:
    """The callers named in the comma list ``names`` (all when empty), the reference always first.

    Raises:
        SystemExit: a name that is not a caller.
    """
    wanted = [n for n in names.split(",") if n]
    unknown = [n for n in wanted if n not in plan]
    if unknown:
        raise SystemExit(f"error: --callers: unknown caller {unknown[0]!r} (one of {', '.join(plan)})")
    return {k: v for k, v in plan.items() if not wanted or k == "reference" or k in wanted}


def run_rounds(plan: dict[str, Caller], repeats: int, label: str) -> dict[str, list[dict]]:
    """Every caller once per round, each in a fresh process; rounds interleave the callers."""
    runs: dict[str, list[dict]] = {k: [] for k in plan}
    for rnd in range(max(1, repeats)):
        for k, (fn, args) in plan.items():
            _log(f"[bench] {label} round {rnd + 1}/{repeats}: {k}")
            runs[k].append(run_cold(fn, *args))
    return runs


def summarize_caller(runs: list[dict], ref_runs: list[dict], sqlite_runs: list[dict]) -> dict[str, Any]:
    """Throughput, speed-up and agreement of one caller's median run against the reference's.

    ``overhead_beyond_sqlite``: the median run's wall time over SQLite's own time on the distinct
    statements (the median of ``sqlite_runs``, one per round); per round in ``overhead_per_round``.
    """
    med, ref = _median_run(runs), _median_run(ref_runs)
    floor = statistics.median(s["total_s"] for s in sqlite_runs)
    n = len(med["verdicts"])
    out: dict[str, Any] = {
        "throughput_per_s": n / med["wall_s"],
        "wall_s": med["wall_s"],
        "speedup": ref["wall_s"] / med["wall_s"],
        "speedup_per_round": sorted(a["wall_s"] / b["wall_s"] for a, b in zip(ref_runs, runs)),
        "verdict_agreement_vs_reference": min(_agreement(r["verdicts"], x["verdicts"]) for r, x in zip(runs, ref_runs)),
        "overhead_beyond_sqlite": med["wall_s"] / floor,
        "overhead_per_round": sorted(a["wall_s"] / b["total_s"] for a, b in zip(runs, sqlite_runs)),
    }
    if med.get("lat"):
        out.update(p50_ms=1000 * _pct(med["lat"], 0.5), p99_ms=1000 * _pct(med["lat"], 0.99))
    if "caller_cpu_s" in med:  # CPU seconds of the calling process in the timed window (less sensitive to load)
        out["caller_cpu_s"] = statistics.median(r["caller_cpu_s"] for r in runs)
    for k in ("stats", "breakdown_keys", "leaked_threads"):
        if k in med:
            out[k] = med[k]
    return out


def overhead_single_thread(clean: list[Sample], opts: RunOptions) -> dict:
    """Per-call latency minus the SQLite time that call actually spent (one thread, no queueing)."""
    res = run_cold(run_threads, clean, RunOptions(opts.settings, opts.semantics, threads=1))
    over = [1000 * (lat - sq) for lat, sq in zip(res["lat"], res["sqlite_s"])]
    return {
        "median_ms": statistics.median(over),
        "p99_ms": _pct(over, 0.99),
        "calls": len(over),
        "one_thread_wall_s": res["wall_s"],
        "one_thread_caller_cpu_s": res["stats"]["caller_process"]["cpu_s"],
    }


def runaway_runs(
    examples: list[dict],
    paths: dict[str, str],
    opts: RunOptions,
    args: argparse.Namespace,
    prompts: int,
    eng_wall_s: float,
) -> dict:
    """The same workload with ``--runaways`` unbounded statements: a fixed timeout, then the adaptive one."""
    t = args.runaway_timeout
    fixed = RunOptions(opts.settings.replace(timeout_s=t), opts.semantics, opts.threads)
    adaptive = RunOptions(
        fixed.settings.replace(adaptive_timeout=True, adaptive_k=args.adaptive_k, adaptive_min_steps=args.adaptive_min),
        opts.semantics,
        opts.threads,
    )
    dirty = build_workload(
        examples, paths, prompts=prompts, rollouts=args.rollouts, runaways=args.runaways, seed=args.seed
    )
    ref = run_cold(run_reference, dirty, t)
    eng = run_cold(run_threads, dirty, fixed)
    batch = run_cold(run_batch, dirty, fixed)
    adapt = run_cold(run_threads, dirty, adaptive)
    bound = 1.2 * args.runaways * t / eng["stats"]["workers"] + eng_wall_s
    return {
        "count": args.runaways,
        "timeout_s": t,
        "reference_wall_s": ref["wall_s"],
        "reference_leaked_threads": ref["leaked_threads"],
        "engine_wall_s": eng["wall_s"],
        "bound_s": bound,
        "within_bound": eng["wall_s"] <= bound,
        "batch_engine_wall_s": batch["wall_s"],
        "batch_within_bound": batch["wall_s"] <= bound,
        "batch_verdict_agreement_vs_reference": _agreement(batch["verdicts"], ref["verdicts"]),
        "speedup": ref["wall_s"] / eng["wall_s"],
        "verdict_agreement_engine_vs_reference": _agreement(eng["verdicts"], ref["verdicts"]),
        "adaptive": {
            "k": args.adaptive_k,
            "min_steps": args.adaptive_min,
            "max_s": t,
            "engine_wall_s": adapt["wall_s"],
            "speedup_vs_fixed": eng["wall_s"] / adapt["wall_s"],
            "verdicts_changed_vs_fixed": sum(a != b for a, b in zip(adapt["verdicts"], eng["verdicts"])),
        },
    }


def bench_dataset(
    name: str, examples: list[dict], paths: dict[str, str], args: argparse.Namespace, prompts: int
) -> dict:
    """Every caller on ``prompts`` x ``--rollouts`` samples of one dataset; see the module docstring."""
    _log(f"[bench] {name}: {prompts} prompts x {args.rollouts} rollouts")
    opts = RunOptions(
        EngineSettings(
            workers=args.workers, timeout_s=args.timeout, adaptive_timeout=False, inline_budget_ms=args.inline_budget_ms
        )
    )
    clean = build_workload(examples, paths, prompts=prompts, rollouts=args.rollouts, seed=args.seed)
    repeats = args.heavy_repeats if name == "heavy" else args.repeats
    plan = select_callers(callers(clean, opts, args.timeout, args.max_vm_steps), args.callers)
    runs = run_rounds({"sqlite": (sqlite_reference, (clean,)), **plan}, repeats, name)
    sqlite_runs = runs.pop("sqlite")
    result: dict[str, Any] = {
        "samples": len(clean),
        "repeats": repeats,
        "inline_budget_ms": opts.settings.inline_budget_ms,
        "kinds": {k: sum(s.kind == k for s in clean) for k in dict.fromkeys(s.kind for s in clean)},
        "sqlite_reference": _median_run([{**r, "wall_s": r["total_s"]} for r in sqlite_runs]),
        "max_vm_steps": {
            "default": opts.settings.max_vm_steps,
            "vm_steps_callers": args.max_vm_steps if args.max_vm_steps >= 0 else None,
        },
        "callers": {k: summarize_caller(v, runs["reference"], sqlite_runs) for k, v in runs.items()},
        "per_call_overhead_one_thread": overhead_single_thread(clean, opts),
    }
    floor = statistics.median(noop_floor(clean)["wall_s"] for _ in range(max(1, repeats)))
    ref_wall = result["callers"]["reference"]["wall_s"]
    result["ceiling"] = {
        "noop_6_threads_wall_s": floor,
        "max_speedup": ref_wall / floor,
        "sqlglot": run_cold(parse_floor, clean),
    }
    if args.runaways and name in args.runaway_datasets.split(",") and "engine" in result["callers"]:
        result["runaways"] = runaway_runs(examples, paths, opts, args, prompts, result["callers"]["engine"]["wall_s"])
    return result


def cmd_engine(args: argparse.Namespace) -> dict:
    """``bench engine``: :func:`bench_dataset` on the bundled demo, Spider dev (when present) and the heavy database."""
    import platform
    import sqlite3

    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    }
    datasets = args.datasets.split(",")
    if "bundled" in datasets:
        paths = build_demo_databases(os.path.join(args.cache_dir, "demo"))
        out["bundled"] = bench_dataset("bundled", demo_examples(), paths, args, args.prompts)
    if "spider" in datasets:
        sp = spider_examples(args.shared)
        out["spider"] = (
            bench_dataset("spider", sp[0], sp[1], args, args.prompts) if sp else {"skipped": f"{args.shared} not found"}
        )
    if "heavy" in datasets:
        _log("[bench] building the heavy database (once; cached)")
        p = build_heavy_database(os.path.join(args.cache_dir, "heavy", "heavy.sqlite"))
        out["heavy"] = bench_dataset("heavy", heavy_examples(), {"heavy": p}, args, args.heavy_prompts)
    return out
