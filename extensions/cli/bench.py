"""Benchmarks: ``python -m extensions.bench [engine|memory|schema|extract|all]``.

Prints one JSON document on stdout (progress on stderr). Every speed figure
is measured side by side in this process against a *reference caller*
written the way public text-to-SQL RL recipes score rollouts: sequentially,
a new connection per call, a thread-based timeout (the thread keeps running
after it "times out"), and the gold query re-executed for every rollout.

``engine``
    A GRPO-shaped workload (``--prompts`` x ``--rollouts``, default 64 x 16)
    with realistic duplicates, wrong answers and syntax/schema errors, on the
    bundled demo databases, ``../shared/spider_dev`` when present, and a
    generated BIRD-like heavy database (>= 1M rows). Callers: the reference;
    the engine called per sample from 6 threads (how VERL 0.9's reward loop
    calls a plain reward function); the same engine with every statement in a
    worker process (``engine_workers_only``, no inline lane); the full
    EnhancedRewardComputer called like the engine; and both as one coroutine
    per rollout gathered on one event loop (``async``: how verl 0.9's reward
    loop calls ``verl_hook.compute_score_async``, the launcher's hook).
    Each caller starts cold (per-process caches cleared, fresh engine) and
    runs ``--repeats`` times, in rounds that interleave the callers; the
    median run of each is reported, and ``speedup_per_round`` gives the
    ratio to the reference of every round.
    Then the same workload with 4 runaway queries and a fixed timeout, and
    with the adaptive timeout. ``batch`` scores the same workload in one call
    (``match_many`` / ``compute_rewards``, what verl's legacy BatchRewardManager
    reaches through ``compute_score_batch``). ``ceiling`` reports what bounds the ratio: a
    no-op reward called the same way (6 threads) and sqlglot's parse time for
    the distinct wrong predictions; ``engine.stats.caller_process`` the
    calling process's CPU time and context switches during the timed run.
    ``--inline-budget-ms 0`` sends every statement to a worker process (no
    inline lane), for comparison with the default.
``memory``
    Cycles through hundreds of generated databases with bounded caches and
    samples the RSS of the parent and the workers.
``schema``
    Precision/recall of the hallucination detector against SQLite's own
    compile errors (``EXPLAIN``): gold queries, gold queries with one table or
    column renamed, and real predictions when ``../shared/spider_dev`` exists.
``extract``
    Extraction time on megabytes of text and thousands of repeated tags.
``evaluate``
    Wall time of the evaluation CLI's core on the 5,832 real Spider predictions
    (with its agreement with the official verdicts), or on the demo set.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from extensions.data.demo import DB_IDS, build_database, build_demo_databases, demo_examples
from extensions.data.heavy import build_heavy_database, heavy_examples
from extensions.execution.engine import EngineSettings, ExecutionEngine

DEFAULT_SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "spider_dev")
RUNAWAY = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r WHERE x < {i}"


@dataclass
class Sample:
    db_path: str
    gold: str
    pred: str
    kind: str


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- workload
def _variants(gold: str, others: list[str], rng: random.Random) -> dict[str, list[str]]:
    spaced = re.sub(r" ", "  ", gold, count=2).replace(" FROM ", "\n FROM ", 1)
    lower_kw = re.sub(r"\bSELECT\b", "select", gold)
    wrong = [f"SELECT count(*) FROM ({gold})", f"SELECT * FROM ({gold}) LIMIT 1"]
    wrong += rng.sample(others, min(2, len(others)))
    syntax = [gold.replace("SELECT", "SELEC", 1), gold[: max(8, int(len(gold) * 0.6))] + " WHERE ("]
    schema = [re.sub(r"\bFROM\s+(\w+)", lambda m: f"FROM {m.group(1)}_x", gold, count=1)]
    return {"gold": [gold], "spaced": [spaced], "keyword_case": [lower_kw], "wrong": wrong, "syntax": syntax, "schema": schema}


# rollouts per group, by kind; sums to 16 (scaled for other group sizes)
MIX = {"gold": 5, "spaced": 2, "keyword_case": 2, "wrong": 4, "syntax": 2, "schema": 1}


def build_workload(
    examples: list[dict], paths: dict[str, str], *, prompts: int, rollouts: int, runaways: int = 0, seed: int = 0
) -> list[Sample]:
    rng = random.Random(seed)
    by_db: dict[str, list[str]] = {}
    for e in examples:
        by_db.setdefault(e["db_id"], []).append(e["query"])
    chosen = rng.sample(examples, min(prompts, len(examples))) if len(examples) >= prompts else [rng.choice(examples) for _ in range(prompts)]
    samples: list[Sample] = []
    for e in chosen:
        others = [q for q in by_db[e["db_id"]] if q != e["query"]] or [e["query"]]
        v = _variants(e["query"], others, rng)
        group = []
        for kind, n in MIX.items():
            for _ in range(max(1, round(n * rollouts / 16)) if n else 0):
                group.append(Sample(paths[e["db_id"]], e["query"], rng.choice(v[kind]), kind))
        rng.shuffle(group)
        samples.extend(group[:rollouts])
    for i in range(runaways):
        j = rng.randrange(len(samples))
        samples[j] = Sample(samples[j].db_path, samples[j].gold, RUNAWAY.format(i=10**9 + i), "runaway")
    return samples


def as_completion(sql: str) -> str:
    return f"<think>Use the schema.</think><answer>```sql\n{sql}\n```</answer>"


# ----------------------------------------------------------------------------- reference
class ReferenceScorer:
    """Scores like public recipes: sequential, new connection per call, thread timeout, gold re-run."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.leaked: list[tuple[threading.Thread, dict]] = []

    def _run(self, db_path: str, sql: str) -> tuple[str, Any]:
        box: dict[str, Any] = {}

        def target() -> None:
            conn = sqlite3.connect(db_path, check_same_thread=False)
            box["conn"] = conn
            try:
                box["rows"] = conn.execute(sql).fetchall()
            except Exception as exc:
                box["error"] = exc
            finally:
                conn.close()

        t = threading.Thread(target=target, daemon=True)
        t.start()
        t.join(self.timeout_s)
        if t.is_alive():  # "timed out": the query keeps running in the background
            self.leaked.append((t, box))
            return "timeout", None
        if "error" in box:
            return "error", box["error"]
        return "ok", box["rows"]

    def score(self, s: Sample) -> bool:
        g_flag, g_rows = self._run(s.db_path, s.gold)
        p_flag, p_rows = self._run(s.db_path, s.pred)
        if g_flag != "ok" or p_flag != "ok":
            return False
        return set(p_rows) == set(g_rows)

    def cleanup(self) -> int:
        n = len(self.leaked)
        for t, box in self.leaked:
            conn = box.get("conn")
            if conn is not None:
                try:
                    conn.interrupt()
                except Exception:
                    pass
            t.join(5)
        self.leaked.clear()
        return n


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def clear_process_caches() -> None:
    """Forget every per-process cache so that each measured caller starts cold."""
    from extensions.execution import compare, engine, introspect
    from extensions.rewards import structural
    from extensions.sql import clauses, normalize, parse, resolve, schema

    for fn in (normalize.cache_key, compare._prepare, parse._parse, resolve._resolve, clauses._components,
               schema._schema_from_sqlite, engine._abspath, structural._score, introspect._samples):
        fn.cache_clear()
    gc.collect()


def _usage() -> dict[str, float]:
    """CPU seconds and context switches of this process so far (zeros where unsupported)."""
    try:
        import resource

        u = resource.getrusage(resource.RUSAGE_SELF)
        return {"cpu_s": u.ru_utime + u.ru_stime, "voluntary_switches": u.ru_nvcsw, "involuntary_switches": u.ru_nivcsw}
    except (ImportError, OSError):  # pragma: no cover - non-Unix
        return {"cpu_s": 0.0, "voluntary_switches": 0, "involuntary_switches": 0}


def run_reference(samples: list[Sample], timeout_s: float, desc: str) -> dict:
    ref = ReferenceScorer(timeout_s)
    verdicts, lat = [], []
    t0 = time.perf_counter()
    for s in tqdm(samples, desc=f"reference {desc}", file=sys.stderr, leave=False, disable=None):
        t = time.perf_counter()
        verdicts.append(ref.score(s))
        lat.append(time.perf_counter() - t)
    wall = time.perf_counter() - t0
    leaked = ref.cleanup()
    return {"verdicts": verdicts, "wall_s": wall, "lat": lat, "leaked_threads": leaked}


def _fresh_engine(samples: list[Sample], settings: EngineSettings, *, enhanced: bool, semantics: str) -> tuple[ExecutionEngine, Any]:
    """A cold engine (per-process caches cleared) with its workers started, and the enhanced computer on it if asked.

    A trainer's pool lives for the whole run, so worker start-up is not timed; caches stay cold.
    """
    clear_process_caches()
    eng = ExecutionEngine(settings)
    for _ in range(eng.pool.size * 2):
        eng.pool.execute(samples[0].db_path, "SELECT 1", 5.0)
    computer = None
    if enhanced:
        from extensions.rewards.combine import EnhancedRewardComputer

        computer = EnhancedRewardComputer("arctic", engine=eng, semantics=semantics)
    return eng, computer


def run_engine(
    samples: list[Sample], settings: EngineSettings, desc: str, *, threads: int = 6, enhanced: bool = False, semantics: str = "bird"
) -> dict:
    eng, computer = _fresh_engine(samples, settings, enhanced=enhanced, semantics=semantics)
    try:

        def call(s: Sample) -> tuple[bool, float, float]:
            t = time.perf_counter()
            if computer is not None:
                r = computer.compute_reward(as_completion(s.pred), {"sql": s.gold, "db_path": s.db_path})
                return r.acc == 1.0, time.perf_counter() - t, 0.0
            m = eng.match(s.db_path, s.pred, s.gold, semantics=semantics)  # type: ignore[arg-type]
            spent = 0.0
            for r in (m.pred, m.gold):
                if r is not None and not r.cached:
                    spent += r.elapsed_s
            return m.match, time.perf_counter() - t, spent

        usage0 = _usage()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as ex:
            out = list(tqdm(ex.map(call, samples), total=len(samples), desc=f"engine {desc}", file=sys.stderr, leave=False, disable=None))
        wall = time.perf_counter() - t0
        usage1 = _usage()
        stats = eng.stats()
        stats["caller_process"] = {k: usage1[k] - usage0[k] for k in usage0}
    finally:
        eng.close()
    return {"verdicts": [o[0] for o in out], "wall_s": wall, "lat": [o[1] for o in out], "sqlite_s": [o[2] for o in out], "stats": stats}


def run_batch(samples: list[Sample], settings: EngineSettings, desc: str, *, enhanced: bool = False, semantics: str = "bird") -> dict:
    """One call for the whole batch, as verl's ``BatchRewardManager`` does (``compute_score_batch``)."""
    eng, computer = _fresh_engine(samples, settings, enhanced=enhanced, semantics=semantics)
    try:
        _log(f"[bench] {desc}: one batch call")
        t0 = time.perf_counter()
        if computer is not None:
            results = computer.compute_rewards([as_completion(s.pred) for s in samples], [{"sql": s.gold, "db_path": s.db_path} for s in samples])
            verdicts = [r.acc == 1.0 for r in results]
        else:
            matches = eng.match_many([(s.db_path, s.pred, s.gold) for s in samples], semantics=semantics)  # type: ignore[arg-type]
            verdicts = [m.match for m in matches]
        wall = time.perf_counter() - t0
    finally:
        eng.close()
    return {"verdicts": verdicts, "wall_s": wall}


def run_async(samples: list[Sample], settings: EngineSettings, desc: str, *, enhanced: bool = False, semantics: str = "bird") -> dict:
    """Per-sample coroutine calls gathered on one event loop: how verl 0.9's reward loop calls an ``async`` reward function."""
    import asyncio

    eng, computer = _fresh_engine(samples, settings, enhanced=enhanced, semantics=semantics)
    loop = asyncio.new_event_loop()
    try:

        async def one(s: Sample) -> tuple[bool, float]:
            t = time.perf_counter()
            if computer is not None:
                r = await computer.compute_reward_async(as_completion(s.pred), {"sql": s.gold, "db_path": s.db_path})
                return r.acc == 1.0, time.perf_counter() - t
            m = await eng.match_async(s.db_path, s.pred, s.gold, semantics=semantics)  # type: ignore[arg-type]
            return m.match, time.perf_counter() - t

        async def gathered() -> list[tuple[bool, float]]:
            return list(await asyncio.gather(*(one(s) for s in samples)))

        _log(f"[bench] {desc}: {len(samples)} coroutine calls on one event loop")
        t0 = time.perf_counter()
        out = loop.run_until_complete(gathered())
        wall = time.perf_counter() - t0
    finally:
        loop.close()
        eng.close()
    return {"verdicts": [o[0] for o in out], "wall_s": wall, "lat": [o[1] for o in out]}


def harness_floor(samples: list[Sample], threads: int = 6) -> float:
    """Wall time of a no-op reward called per sample from ``threads`` threads: the ceiling on any speed-up."""
    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as ex:
        list(tqdm(ex.map(lambda s: s.kind == "gold", samples), total=len(samples), desc="no-op", file=sys.stderr, leave=False, disable=None))
    return time.perf_counter() - t0


def parse_floor(samples: list[Sample]) -> dict:
    """sqlglot parse time (one thread) of the distinct SQL the enhanced reward must analyse (wrong answers)."""
    from extensions.sql.parse import _parse

    distinct = list(dict.fromkeys(s.pred for s in samples if s.kind in ("wrong", "syntax", "schema")))
    t0 = time.perf_counter()
    for sql in distinct:
        _parse.__wrapped__(sql, 20_000)
    return {"distinct_wrong_sql": len(distinct), "parse_ms": 1000 * (time.perf_counter() - t0)}


def overhead_single_thread(samples: list[Sample], settings: EngineSettings) -> dict:
    """Per-call latency minus the SQLite time that call actually spent (one thread, no queueing)."""
    res = run_engine(samples, settings, "overhead", threads=1)
    over = [1000 * (lat - sq) for lat, sq in zip(res["lat"], res["sqlite_s"])]
    return {
        "median_ms": statistics.median(over),
        "p99_ms": _pct(over, 0.99),
        "calls": len(over),
        # The same engine work from one calling thread, to compare with the 6-thread run.
        "one_thread_wall_s": res["wall_s"],
        "one_thread_caller_cpu_s": res["stats"]["caller_process"]["cpu_s"],
    }


def _agreement(a: list[bool], b: list[bool]) -> float:
    return sum(x == y for x, y in zip(a, b)) / max(1, len(a))


def bench_dataset(name: str, examples: list[dict], paths: dict[str, str], args: argparse.Namespace, prompts: int) -> dict:
    _log(f"[bench] {name}: {prompts} prompts x {args.rollouts} rollouts")
    base = EngineSettings(workers=args.workers, timeout_s=args.timeout, adaptive_timeout=False, inline_budget_ms=args.inline_budget_ms)
    clean = build_workload(examples, paths, prompts=prompts, rollouts=args.rollouts, seed=args.seed)
    repeats = args.heavy_repeats if name == "heavy" else args.repeats

    callers: dict[str, Callable[[], dict]] = {
        "reference": lambda: run_reference(clean, args.timeout, name),
        "engine": lambda: run_engine(clean, base, name),
        "engine_workers_only": lambda: run_engine(clean, base.replace(inline_budget_ms=0.0), f"{name} workers only"),
        "enhanced": lambda: run_engine(clean, base, f"{name} enhanced", enhanced=True),
        "engine_batch": lambda: run_batch(clean, base, f"{name} batch"),
        "enhanced_batch": lambda: run_batch(clean, base, f"{name} enhanced batch", enhanced=True),
        "engine_async": lambda: run_async(clean, base, f"{name} async"),
        "enhanced_async": lambda: run_async(clean, base, f"{name} enhanced async", enhanced=True),
    }
    # Rounds interleave the callers, so a slow spell of a shared machine hits
    # all of them alike; each caller's median run is reported, and the ratio of
    # each round (same few seconds) shows the spread.
    runs: dict[str, list[dict]] = {k: [] for k in callers}
    for _ in range(max(1, repeats)):
        for k, fn in callers.items():
            runs[k].append(fn())

    def median_run(k: str) -> dict:
        ordered = sorted(runs[k], key=lambda r: r["wall_s"])
        return ordered[len(ordered) // 2]

    def round_ratios(k: str) -> list[float]:
        return sorted(a["wall_s"] / b["wall_s"] for a, b in zip(runs["reference"], runs[k]))

    ref, eng, eng_w, enh, eng_b, enh_b, eng_a, enh_a = (median_run(k) for k in callers)
    n = len(clean)
    result: dict[str, Any] = {
        "samples": n,
        "repeats": repeats,
        "inline_budget_ms": base.inline_budget_ms,
        "kinds": {k: sum(s.kind == k for s in clean) for k in dict.fromkeys(s.kind for s in clean)},
        "reference": {"throughput_per_s": n / ref["wall_s"], "wall_s": ref["wall_s"], "p50_ms": 1000 * _pct(ref["lat"], 0.5), "p99_ms": 1000 * _pct(ref["lat"], 0.99)},
        "engine": {"throughput_per_s": n / eng["wall_s"], "wall_s": eng["wall_s"], "p50_ms": 1000 * _pct(eng["lat"], 0.5), "p99_ms": 1000 * _pct(eng["lat"], 0.99), "stats": eng["stats"]},
        "enhanced": {"throughput_per_s": n / enh["wall_s"], "wall_s": enh["wall_s"], "p50_ms": 1000 * _pct(enh["lat"], 0.5), "p99_ms": 1000 * _pct(enh["lat"], 0.99)},
    }
    # The engine with every statement in a worker process (no inline lane), same rounds.
    result["engine_workers_only"] = {"throughput_per_s": n / eng_w["wall_s"], "wall_s": eng_w["wall_s"],
                                     "speedup": ref["wall_s"] / eng_w["wall_s"],
                                     "verdict_agreement_vs_reference": _agreement(eng_w["verdicts"], ref["verdicts"]),
                                     "caller_process": eng_w["stats"]["caller_process"]}
    result["speedup_engine"] = ref["wall_s"] / eng["wall_s"]
    result["speedup_enhanced"] = ref["wall_s"] / enh["wall_s"]
    result["speedup_per_round"] = {k: round_ratios(k) for k in callers if k != "reference"}
    # A different calling pattern: the whole workload in one batch call (verl's BatchRewardManager).
    result["batch"] = {
        "engine": {"throughput_per_s": n / eng_b["wall_s"], "wall_s": eng_b["wall_s"], "speedup": ref["wall_s"] / eng_b["wall_s"],
                   "verdict_agreement_vs_reference": _agreement(eng_b["verdicts"], ref["verdicts"])},
        "enhanced": {"throughput_per_s": n / enh_b["wall_s"], "wall_s": enh_b["wall_s"], "speedup": ref["wall_s"] / enh_b["wall_s"],
                     "verdict_agreement_vs_reference": _agreement(enh_b["verdicts"], ref["verdicts"])},
    }
    # verl's reward loop with an ``async`` reward function: per-sample coroutines gathered on one loop.
    result["async"] = {
        k: {"throughput_per_s": n / r["wall_s"], "wall_s": r["wall_s"], "speedup": ref["wall_s"] / r["wall_s"],
            "p50_ms": 1000 * _pct(r["lat"], 0.5), "p99_ms": 1000 * _pct(r["lat"], 0.99),
            "verdict_agreement_vs_reference": _agreement(r["verdicts"], ref["verdicts"])}
        for k, r in (("engine", eng_a), ("enhanced", enh_a))
    }
    result["verdict_agreement_engine_vs_reference"] = _agreement(eng["verdicts"], ref["verdicts"])
    result["verdict_agreement_enhanced_vs_reference"] = _agreement(enh["verdicts"], ref["verdicts"])
    result["overhead_beyond_sqlite"] = overhead_single_thread(clean, base)
    floor = statistics.median(harness_floor(clean) for _ in range(max(1, repeats)))
    result["ceiling"] = {
        "noop_6_threads_wall_s": floor,
        "max_speedup": ref["wall_s"] / floor,
        "sqlglot": parse_floor(clean),
    }
    if args.runaways and name in args.runaway_datasets.split(","):
        t = args.runaway_timeout
        fixed = base.replace(timeout_s=t)
        dirty = build_workload(examples, paths, prompts=prompts, rollouts=args.rollouts, runaways=args.runaways, seed=args.seed)
        ref_r = run_reference(dirty, t, f"{name} runaways")
        eng_r = run_engine(dirty, fixed, f"{name} runaways")
        eng_rb = run_batch(dirty, fixed, f"{name} runaways batch")
        workers = eng["stats"]["workers"]
        bound = 1.2 * args.runaways * t / workers + eng["wall_s"]
        adaptive = fixed.replace(adaptive_timeout=True, adaptive_k=args.adaptive_k, adaptive_min_s=args.adaptive_min)
        eng_a = run_engine(dirty, adaptive, f"{name} adaptive")
        changed = sum(a != b for a, b in zip(eng_a["verdicts"], eng_r["verdicts"]))
        result["runaways"] = {
            "count": args.runaways,
            "timeout_s": t,
            "reference_wall_s": ref_r["wall_s"],
            "reference_leaked_threads": ref_r["leaked_threads"],
            "engine_wall_s": eng_r["wall_s"],
            "bound_s": bound,
            "within_bound": eng_r["wall_s"] <= bound,
            "batch_engine_wall_s": eng_rb["wall_s"],
            "batch_within_bound": eng_rb["wall_s"] <= bound,
            "batch_verdict_agreement_vs_reference": _agreement(eng_rb["verdicts"], ref_r["verdicts"]),
            "speedup": ref_r["wall_s"] / eng_r["wall_s"],
            "verdict_agreement_engine_vs_reference": _agreement(eng_r["verdicts"], ref_r["verdicts"]),
            "adaptive": {
                "k": args.adaptive_k,
                "min_s": args.adaptive_min,
                "max_s": t,
                "engine_wall_s": eng_a["wall_s"],
                "speedup_vs_fixed": eng_r["wall_s"] / eng_a["wall_s"],
                "verdicts_changed_vs_fixed": changed,
            },
        }
    return result


def _spider(shared: str) -> tuple[list[dict], dict[str, str]] | None:
    dev = os.path.join(shared, "dev.json")
    if not os.path.exists(dev):
        return None
    with open(dev) as fh:
        examples = json.load(fh)
    paths = {e["db_id"]: os.path.join(shared, "database", e["db_id"], f"{e['db_id']}.sqlite") for e in examples}
    return examples, paths


def cmd_engine(args: argparse.Namespace) -> dict:
    out: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version}}
    datasets = args.datasets.split(",")
    if "bundled" in datasets:
        paths = build_demo_databases(os.path.join(args.cache_dir, "demo"))
        out["bundled"] = bench_dataset("bundled", demo_examples(), paths, args, args.prompts)
    if "spider" in datasets:
        sp = _spider(args.shared)
        if sp is None:
            out["spider"] = {"skipped": f"{args.shared} not found"}
        else:
            out["spider"] = bench_dataset("spider", sp[0], sp[1], args, args.prompts)
    if "heavy" in datasets:
        _log("[bench] building the heavy database (once; cached)")
        p = build_heavy_database(os.path.join(args.cache_dir, "heavy", "heavy.sqlite"))
        out["heavy"] = bench_dataset("heavy", heavy_examples(), {"heavy": p}, args, args.heavy_prompts)
    return out


# ----------------------------------------------------------------------------- memory
def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def cmd_memory(args: argparse.Namespace) -> dict:
    folder = os.path.join(args.cache_dir, "many")
    _log(f"[bench] memory: building {args.n_databases} databases in {folder}")
    dbs = []
    for i in tqdm(range(args.n_databases), desc="databases", file=sys.stderr, leave=False, disable=None):
        db_id = DB_IDS[i % len(DB_IDS)]
        p = os.path.join(folder, f"{db_id}_{i}.sqlite")
        if not os.path.exists(p):
            build_database(p, db_id, seed=i)
        dbs.append((db_id, p))
    by_db: dict[str, list[str]] = {}
    for e in demo_examples():
        by_db.setdefault(e["db_id"], []).append(e["query"])
    base = EngineSettings(
        workers=args.workers, adaptive_timeout=False, max_open_connections=args.max_open,
        gold_cache_entries=args.cache_entries, result_cache_entries=args.cache_entries,
        verdict_cache_entries=args.cache_entries,
    )
    # Once as configured by default (the inline lane keeps connections in this
    # process) and once with every statement in a worker process.
    return {
        "inline_lane": _memory_run(base, dbs, by_db, args, "inline lane"),
        "workers_only": _memory_run(base.replace(inline_budget_ms=0.0), dbs, by_db, args, "workers only"),
    }


def _memory_run(
    settings: EngineSettings, dbs: list[tuple[str, str]], by_db: dict[str, list[str]], args: argparse.Namespace, label: str
) -> dict:
    rng = random.Random(args.seed)
    samples_rss = []
    calls = 0
    t0 = time.perf_counter()
    with ExecutionEngine(settings) as eng:
        for _ in range(eng.pool.size * 2):  # every worker started before the first sample
            eng.pool.execute(dbs[0][1], "SELECT 1", 5.0)
        for rnd in range(args.rounds):
            for db_id, p in tqdm(dbs, desc=f"{label} round {rnd + 1}/{args.rounds}", file=sys.stderr, leave=False, disable=None):
                qs = by_db[db_id]
                for _ in range(args.queries_per_db):
                    gold = rng.choice(qs)
                    pred = rng.choice(qs)
                    eng.match(p, pred, gold)
                    calls += 1
            workers = eng.pool.worker_stats()
            parent = _rss(os.getpid())
            samples_rss.append(
                {"after_calls": calls, "parent_mb": parent / 2**20, "workers_mb": sum(w["rss_bytes"] for w in workers) / 2**20,
                 "worker_connections": sum(w["open_connections"] for w in workers),
                 "inline_connections": eng.stats()["inline"]["open_connections"],
                 "cached_results": len(eng.result_cache) + len(eng.gold_cache), "cached_verdicts": len(eng.verdict_cache)}
            )
        stats = eng.stats()
    totals = [s["parent_mb"] + s["workers_mb"] for s in samples_rss]
    half = len(totals) // 2
    return {
        "databases": len(dbs),
        "calls": calls,
        "wall_s": time.perf_counter() - t0,
        "limits": {"max_open_connections": args.max_open, "cache_entries": args.cache_entries},
        "samples": samples_rss,
        "total_rss_mb_first": totals[0],
        "total_rss_mb_peak": max(totals),
        "total_rss_mb_last": totals[-1],
        "growth_second_half_mb": totals[-1] - totals[half] if half < len(totals) else 0.0,
        "engine": stats,
    }


# ----------------------------------------------------------------------------- schema detector
def _explain_label(conn: sqlite3.Connection, sql: str) -> str:
    try:
        conn.execute("EXPLAIN " + sql)
        return "ok"
    except sqlite3.Error as exc:
        msg = str(exc).lower()
        if "no such table" in msg or "no such column" in msg:
            return "hallucination"
        return "other_error"
    except Exception:
        return "other_error"


def _mutations(sql: str, rng: random.Random) -> list[tuple[str, str]]:
    from sqlglot import exp

    from extensions.sql.parse import parse_sql

    parsed = parse_sql(sql)
    if not parsed.ok or parsed.expression is None:
        return []
    out = []
    tables = list(parsed.expression.find_all(exp.Table))
    if tables:
        e = parsed.expression.copy()
        t = rng.choice(list(e.find_all(exp.Table)))
        t.set("this", exp.to_identifier(t.name + "s_info"))
        out.append(("renamed_table", e.sql("sqlite")))
    cols = [c for c in parsed.expression.find_all(exp.Column) if not isinstance(c.this, exp.Star)]
    if cols:
        e = parsed.expression.copy()
        c = rng.choice([c for c in e.find_all(exp.Column) if not isinstance(c.this, exp.Star)])
        c.set("this", exp.to_identifier(c.name + "_name"))
        out.append(("renamed_column", e.sql("sqlite")))
    return out


def cmd_schema(args: argparse.Namespace) -> dict:
    from extensions.sql.resolve import resolve_names
    from extensions.sql.schema import Schema

    sp = _spider(args.shared)
    if sp is not None:
        examples, paths = sp
        source = "spider_dev"
        preds_file = os.path.join(args.shared, "official_exec_verdicts.jsonl")
    else:
        paths = build_demo_databases(os.path.join(args.cache_dir, "demo"))
        examples = demo_examples()
        source = "bundled"
        preds_file = None
    rng = random.Random(args.seed)
    cases: list[tuple[str, str, str]] = []  # (kind, db_id, sql)
    for e in examples:
        cases.append(("gold", e["db_id"], e["query"]))
        for kind, sql in _mutations(e["query"], rng):
            cases.append((kind, e["db_id"], sql))
    if preds_file:
        seen = set()
        with open(preds_file) as fh:
            for line in fh:
                r = json.loads(line)
                key = (r["db_id"], r["pred"])
                if key not in seen:
                    seen.add(key)
                    cases.append(("real_prediction", r["db_id"], r["pred"]))
    conns = {d: sqlite3.connect(f"file:{p}?mode=ro&immutable=1", uri=True) for d, p in paths.items()}
    per: dict[str, dict[str, int]] = {}
    misses: list[dict] = []
    t0 = time.perf_counter()
    for kind, db_id, sql in tqdm(cases, desc="schema detector", file=sys.stderr, leave=False, disable=None):
        label = _explain_label(conns[db_id], sql)
        if label == "other_error":
            continue
        res = resolve_names(sql, Schema.coerce(paths[db_id]))
        flagged = res.count > 0
        c = per.setdefault(kind, {"tp": 0, "fp": 0, "fn": 0, "tn": 0})
        truth = label == "hallucination"
        c["tp" if truth and flagged else "fp" if flagged else "fn" if truth else "tn"] += 1
        if truth != flagged and len(misses) < 25:
            misses.append({"kind": kind, "db_id": db_id, "sql": sql[:200], "sqlite": label, "detector": list(res.hallucinated), "error": res.error})
    elapsed = time.perf_counter() - t0
    total = {k: sum(c[k] for c in per.values()) for k in ("tp", "fp", "fn", "tn")}

    def pr(c: dict) -> dict:
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        return dict(c, precision=p, recall=r)

    return {
        "source": source,
        "cases": sum(sum(c.values()) for c in per.values()),
        "seconds": elapsed,
        "by_kind": {k: pr(c) for k, c in per.items()},
        "overall": pr(total),
        "disagreements": misses,
    }


# ----------------------------------------------------------------------------- evaluate CLI
def cmd_evaluate(args: argparse.Namespace) -> dict:
    """Throughput of ``python -m extensions.evaluate`` on the 5,832 real Spider predictions (or the demo set)."""
    from extensions.evaluate import Evaluator, GoldItem

    verdicts = os.path.join(args.shared, "official_exec_verdicts.jsonl")
    if os.path.exists(verdicts):
        with open(verdicts) as fh:
            rows = [json.loads(line) for line in fh]
        gold = [GoldItem(r["db_id"], r["gold"]) for r in rows]
        cands = [[r["pred"]] for r in rows]
        db_dir, source = os.path.join(args.shared, "database"), "spider_dev official predictions"
    else:
        paths = build_demo_databases(os.path.join(args.cache_dir, "demo"))
        ex = demo_examples() * 16
        gold = [GoldItem(e["db_id"], e["query"]) for e in ex]
        cands = [[ex[(i * 7) % len(ex)]["query"]] for i in range(len(ex))]
        db_dir, source = os.path.dirname(os.path.dirname(paths["hr"])), "bundled demo (x16)"
    t0 = time.perf_counter()
    ev = Evaluator(db_dir, workers=args.workers)
    try:
        rep = ev.evaluate(gold, cands)
    finally:
        ev.close()
    wall = time.perf_counter() - t0
    out = {"source": source, "predictions": len(gold), "wall_s": wall, "per_s": len(gold) / wall, "exec_accuracy": rep.summary["exec_accuracy"]}
    if os.path.exists(verdicts):
        out["agreement_with_official"] = sum(int(i.exec_match) == r["official_exec"] for i, r in zip(rep.items, rows)) / len(rows)
    return out


# ----------------------------------------------------------------------------- extraction
def cmd_extract(args: argparse.Namespace) -> dict:
    from extensions.sql.extract import extract_sql

    def timed(text: str) -> float:
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            extract_sql(text)
            best = min(best, time.perf_counter() - t)
        return best

    out = {}
    for mb in (1, 4, 16):
        text = "<think>" + ("x" * 1023 + "\n") * (1024 * mb) + "</think><answer>```sql\nSELECT 1\n```</answer>"
        out[f"plain_{mb}MB_ms"] = 1000 * timed(text)
    for n in (1_000, 10_000, 100_000):
        out[f"repeated_tags_{n}_ms"] = 1000 * timed("<think>" * n + "</think>" * n + "<answer>" * n)
        out[f"repeated_fences_{n}_ms"] = 1000 * timed("```sql\n" * n)
    out["ms_per_MB_at_16MB"] = out["plain_16MB_ms"] / 16
    out["ratio_16MB_over_1MB"] = out["plain_16MB_ms"] / max(1e-9, out["plain_1MB_ms"])
    return out


# ----------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m extensions.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", nargs="?", default="all", choices=["engine", "memory", "schema", "extract", "evaluate", "all"])
    p.add_argument("--datasets", default="bundled,spider,heavy", help="comma list of bundled, spider, heavy (engine)")
    p.add_argument("--shared", default=os.path.normpath(DEFAULT_SHARED), help="Spider dev folder (optional)")
    p.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "extensions-bench"), help="where generated databases are kept")
    p.add_argument("--prompts", type=int, default=64)
    p.add_argument("--heavy-prompts", type=int, default=16, help="prompts on the heavy database (its golds take 50-150 ms)")
    p.add_argument("--rollouts", type=int, default=16)
    p.add_argument("--repeats", type=int, default=5, help="rounds of runs per caller (interleaved); the median is reported")
    p.add_argument("--heavy-repeats", type=int, default=1, help="runs per caller on the heavy database")
    p.add_argument("--workers", type=int, default=0, help="engine worker processes (0 = all cores)")
    p.add_argument("--timeout", type=float, default=10.0, help="per-statement timeout, both callers")
    p.add_argument("--inline-budget-ms", type=float, default=EngineSettings.inline_budget_ms,
                   help="engine: deadline of the inline attempt in the calling thread (execution.inline_budget_ms); 0 = workers only")
    p.add_argument("--runaways", type=int, default=4)
    p.add_argument("--runaway-timeout", type=float, default=2.0, help="fixed timeout for the runaway run")
    p.add_argument(
        "--runaway-datasets",
        default="bundled,spider",
        help="datasets that also get the runaway and adaptive-timeout runs (on heavy, the reference's leaked "
        "runaway threads slow every later query, so that run takes minutes; add it explicitly)",
    )
    p.add_argument("--adaptive-k", type=float, default=20.0)
    p.add_argument("--adaptive-min", type=float, default=1.0)
    p.add_argument("--n-databases", type=int, default=300, help="memory: databases to cycle through")
    p.add_argument("--rounds", type=int, default=6, help="memory: passes over all databases")
    p.add_argument("--queries-per-db", type=int, default=4)
    p.add_argument("--max-open", type=int, default=16, help="memory: databases with open connections, per worker and in the inline lane")
    p.add_argument("--cache-entries", type=int, default=2000, help="memory: entries per cache (gold, result, verdict)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="also write the JSON here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.makedirs(args.cache_dir, exist_ok=True)
    commands: dict[str, Callable[[argparse.Namespace], dict]] = {
        "extract": cmd_extract, "schema": cmd_schema, "evaluate": cmd_evaluate, "engine": cmd_engine, "memory": cmd_memory,
    }
    todo = list(commands) if args.what == "all" else [args.what]
    report = {}
    for name in todo:
        gc.collect()
        report[name] = commands[name](args)
    text = json.dumps(report, indent=2, default=float)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
