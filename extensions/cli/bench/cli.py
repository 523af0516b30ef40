"""Benchmarks: ``python -m extensions.bench [engine|memory|schema|extract|evaluate|guard|all] [--out FILE]``,
and ``python -m extensions.bench report FILE...`` for the markdown tables of docs/benchmarks.md.

Prints one JSON document on stdout (progress on stderr, on a terminal only).

``engine``
    A GRPO-shaped workload (``--prompts`` x ``--rollouts``) with duplicates, wrong answers and syntax and
    schema errors, on the bundled demo databases, Spider dev when present and a generated BIRD-like
    heavy database. It measures, side by side against a reference caller written the way public recipes
    score rollouts (:mod:`extensions.cli.bench.workload`), the throughput, speed-up, latency and verdict
    agreement of: the path users get, ``extensions.verl_hook.compute_score_async`` with one coroutine per
    rollout gathered on one event loop, engine-only (``reward.enable_enhanced=false``) and with all
    shaping; the engine alone called per sample from 6 threads (with and without its inline lane), as
    coroutines, and in one batch; and the full ``RewardComputer`` called the same three ways.
    Every run starts in a fresh process (no warm cache), with its worker processes started. Then the
    same workload with runaway statements, a fixed and an adaptive timeout; the per-call overhead beyond
    SQLite's own time; and the ceilings (a no-op reward called the same way, the parse time of the
    distinct wrong statements).
``memory``
    RSS of the calling process and the workers while cycling through hundreds of generated databases.
``schema``
    Precision and recall of the hallucination detector against SQLite's compile errors.
``extract``
    Extraction time on megabytes of text and thousands of repeated tags.
``evaluate``
    Wall time of the evaluation CLI's core on Spider dev's real predictions (with its agreement with
    the official verdicts), or on the demo set.
``guard``
    Refusals, depth estimates and parse times of the nesting pre-scan over the bundled and Spider queries.
``profile`` (not part of ``all``)
    Where each async caller's time goes, per stage (cProfile in every thread), beside SQLite's own time.
``instructions`` (not part of ``all``)
    CPU instructions per async caller under callgrind (needs valgrind), a figure load cannot move.
``reliability`` (not part of ``all``)
    Wall-clock and memory figures of the reliability checks beside ``--busy`` busy processes: expensive
    VM steps through the verl hook (the batch's 25 s bound), the tool's runaways, the trainer's peak
    memory for a 99,999-row tool call (:mod:`extensions.cli.bench.reliability`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from extensions._util.version import code_version
from extensions.cli.bench.engine import cmd_engine
from extensions.cli.bench.guard import cmd_guard
from extensions.cli.bench.instructions import cmd_instructions
from extensions.cli.bench.memory import cmd_memory
from extensions.cli.bench.profile import cmd_profile
from extensions.cli.bench.reliability import cmd_reliability
from extensions.cli.bench.report import main_report
from extensions.cli.bench.schema import cmd_schema
from extensions.cli.bench.throughput import cmd_evaluate, cmd_extract
from extensions.execution.engine import EngineSettings

DEFAULT_SHARED = os.path.normpath(
    os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "shared", "spider_dev")
)
COMMANDS: dict[str, Callable[[argparse.Namespace], dict]] = {
    "engine": cmd_engine,
    "memory": cmd_memory,
    "schema": cmd_schema,
    "extract": cmd_extract,
    "evaluate": cmd_evaluate,
    "guard": cmd_guard,
}


def _engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--datasets", default="bundled,spider,heavy", help="comma list of bundled, spider, heavy (engine)")
    p.add_argument("--prompts", type=int, default=64)
    p.add_argument("--heavy-prompts", type=int, default=16, help="prompts on the heavy database (its golds are slow)")
    p.add_argument("--rollouts", type=int, default=16)
    p.add_argument(
        "--repeats", type=int, default=5, help="rounds of runs per caller (interleaved); the median is reported"
    )
    p.add_argument("--heavy-repeats", type=int, default=1, help="runs per caller on the heavy database")
    p.add_argument("--timeout", type=float, default=10.0, help="per-statement timeout, every caller")
    p.add_argument(
        "--inline-budget-ms",
        type=float,
        default=EngineSettings.inline_budget_ms,
        help="deadline of the inline attempt in the calling thread (execution.inline_budget_ms); 0 = workers only",
    )
    p.add_argument("--runaways", type=int, default=4)
    p.add_argument("--runaway-timeout", type=float, default=2.0, help="fixed timeout for the runaway run")
    p.add_argument(
        "--runaway-datasets",
        default="bundled,spider",
        help="datasets that also get the runaway and adaptive-timeout runs (on heavy, the reference's leaked threads "
        "slow every later query, so that run takes minutes; add it explicitly)",
    )
    p.add_argument("--adaptive-k", type=float, default=20.0)
    p.add_argument("--adaptive-min", type=int, default=1_000_000, help="smallest adaptive step budget (VM steps)")
    p.add_argument(
        "--callers", default="", help="comma list of the callers to run (default: all; the reference always runs)"
    )
    p.add_argument(
        "--max-vm-steps",
        type=int,
        default=-1,
        help="also run the engine-only hook and the engine's async caller with this SQLite "
        "VM-instruction budget (execution.max_vm_steps; 0 = none), side by side with the same "
        "callers under the build's default; -1 = not",
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m extensions.bench``."""
    p = argparse.ArgumentParser(
        prog="python -m extensions.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    extra = ["report", "profile", "instructions", "reliability"]
    p.add_argument("what", nargs="?", default="all", choices=[*COMMANDS, "all", *extra])
    p.add_argument("files", nargs="*", help="report: the JSON files to render as markdown")
    p.add_argument("--shared", default=DEFAULT_SHARED, help="Spider dev folder (optional)")
    p.add_argument(
        "--cache-dir",
        default=os.path.join(tempfile.gettempdir(), "extensions-bench"),
        help="where generated databases are kept",
    )
    p.add_argument("--workers", type=int, default=0, help="engine worker processes (0 = all cores)")
    _engine_options(p)
    p.add_argument("--n-databases", type=int, default=300, help="memory: databases to cycle through")
    p.add_argument("--rounds", type=int, default=6, help="memory: passes over all databases")
    p.add_argument("--queries-per-db", type=int, default=4)
    p.add_argument(
        "--max-open",
        type=int,
        default=16,
        help="memory: databases with open connections, per worker and in the inline lane",
    )
    p.add_argument("--cache-entries", type=int, default=2000, help="memory: entries per cache (gold, result, verdict)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--parts", action="store_true", help="instructions: also count the pieces of the callers' work (bench/parts.py)"
    )
    p.add_argument("--busy", type=int, default=4, help="reliability: busy-loop processes beside the checks")
    p.add_argument(
        "--baseline-package",
        help="reliability: also measure the tool call's memory with the extensions package in this folder",
    )
    p.add_argument("--out", help="also write the JSON here")
    return p


def provenance(argv: list[str] | None) -> dict[str, object]:
    """What produced a benchmark's JSON: the code's commit, the command's arguments and the libraries that time it.

    Args:
        argv: the arguments after ``python -m extensions.bench`` (None: this process's own).

    Returns:
        ``{"commit", "dirty", "argv", "python", "sqlite", "sqlglot"}``.

    >>> sorted(provenance(["engine", "--repeats", "1"]))
    ['argv', 'commit', 'dirty', 'python', 'sqlglot', 'sqlite']
    """
    commit, dirty = code_version()
    try:
        sqlglot_version = version("sqlglot")
    except PackageNotFoundError:
        sqlglot_version = "none"
    return {
        "commit": commit,
        "dirty": dirty,
        "argv": list(sys.argv[1:] if argv is None else argv),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlglot": sqlglot_version,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks asked for and print their JSON (or, for ``report``, the markdown tables)."""
    args = build_parser().parse_args(argv)
    if args.what == "report":
        return main_report(args.files)
    os.makedirs(args.cache_dir, exist_ok=True)
    todo = list(COMMANDS) if args.what == "all" else [args.what]
    extras = {"profile": cmd_profile, "instructions": cmd_instructions, "reliability": cmd_reliability}
    report = {name: {**COMMANDS, **extras}[name](args) for name in todo}
    report["provenance"] = provenance(argv)
    text = json.dumps(report, indent=2, default=float)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0
