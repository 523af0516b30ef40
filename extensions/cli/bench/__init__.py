"""Benchmarks: ``python -m extensions.bench [engine|memory|schema|extract|evaluate|all] [--out FILE]``,
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
    coroutines, and in one batch; and the full ``EnhancedRewardComputer`` called the same three ways.
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
"""

from extensions.cli.bench.cli import build_parser, main

__all__ = ["build_parser", "main"]
