"""``bench memory``: RSS of the trainer process and the workers while cycling through hundreds of databases."""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

from tqdm import tqdm

from extensions.cli.bench.callers import start_workers
from extensions.data.demo import DB_IDS, build_database, demo_examples
from extensions.execution.engine import EngineSettings, ExecutionEngine


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _databases(args: argparse.Namespace) -> list[tuple[str, str]]:
    folder = os.path.join(args.cache_dir, "many")
    dbs = []
    for i in tqdm(range(args.n_databases), desc="databases", file=sys.stderr, leave=False, disable=None):
        db_id = DB_IDS[i % len(DB_IDS)]
        p = os.path.join(folder, f"{db_id}_{i}.sqlite")
        if not os.path.exists(p):
            build_database(p, db_id, seed=i)
        dbs.append((db_id, p))
    return dbs


def cmd_memory(args: argparse.Namespace) -> dict:
    """Once with the inline lane (the default) and once with every statement in a worker process."""
    dbs = _databases(args)
    by_db: dict[str, list[str]] = {}
    for e in demo_examples():
        by_db.setdefault(e["db_id"], []).append(e["query"])
    base = EngineSettings(
        workers=args.workers,
        adaptive_timeout=False,
        max_open_connections=args.max_open,
        gold_cache_entries=args.cache_entries,
        result_cache_entries=args.cache_entries,
        verdict_cache_entries=args.cache_entries,
    )
    return {
        "inline_lane": memory_run(base, dbs, by_db, args, "inline lane"),
        "workers_only": memory_run(base.replace(inline_budget_ms=0.0), dbs, by_db, args, "workers only"),
    }


def _sample(eng: ExecutionEngine, calls: int) -> dict:
    stats = eng.stats()
    workers = eng.pool.worker_stats()
    return {
        "after_calls": calls,
        "parent_mb": _rss(os.getpid()) / 2**20,
        "workers_mb": sum(w["rss_bytes"] for w in workers) / 2**20,
        "worker_connections": sum(w["open_connections"] for w in workers),
        "inline_connections": stats["inline"]["open_connections"],
        "cached_results": stats["result_cache"]["entries"] + stats["gold_cache"]["entries"],
        "cached_verdicts": stats["verdict_cache"]["entries"],
    }


def memory_run(
    settings: EngineSettings,
    dbs: list[tuple[str, str]],
    by_db: dict[str, list[str]],
    args: argparse.Namespace,
    label: str,
) -> dict:
    """``--rounds`` passes over ``dbs`` with ``--queries-per-db`` matches each; RSS sampled after every pass."""
    rng = random.Random(args.seed)
    samples, calls = [], 0
    t0 = time.perf_counter()
    with ExecutionEngine(settings) as eng:
        start_workers(eng, dbs[0][1])
        for rnd in range(args.rounds):
            for db_id, p in tqdm(
                dbs, desc=f"{label} round {rnd + 1}/{args.rounds}", file=sys.stderr, leave=False, disable=None
            ):
                for _ in range(args.queries_per_db):
                    eng.match(p, rng.choice(by_db[db_id]), rng.choice(by_db[db_id]))
                    calls += 1
            samples.append(_sample(eng, calls))
        stats = eng.stats()
    totals = [s["parent_mb"] + s["workers_mb"] for s in samples]
    half = len(totals) // 2
    return {
        "databases": len(dbs),
        "calls": calls,
        "wall_s": time.perf_counter() - t0,
        "limits": {"max_open_connections": args.max_open, "cache_entries": args.cache_entries},
        "samples": samples,
        "total_rss_mb_first": totals[0],
        "total_rss_mb_peak": max(totals),
        "total_rss_mb_last": totals[-1],
        "growth_second_half_mb": totals[-1] - totals[half] if half < len(totals) else 0.0,
        "engine": stats,
    }
