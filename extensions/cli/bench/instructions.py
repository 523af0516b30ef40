"""``bench instructions``: CPU instructions per caller (``valgrind --tool=callgrind``), a figure load cannot move.

Each caller runs once, in-process, in a child started under callgrind, with one worker and an inline
budget long enough that the calling process settles every statement itself (the workers would run
outside the count). A child that only builds the workload and the computers gives the setup's count,
subtracted from each caller's. ``PYTHONHASHSEED=0`` keeps the counts repeatable.

>>> CALLERS
('hook_async_engine_only', 'hook_async_shaping', 'engine_async')
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from typing import Any

from extensions.cli.bench.parts import PARTS

CALLERS = ("hook_async_engine_only", "hook_async_shaping", "engine_async")
_COLLECTED = re.compile(r"Collected : (\d+)")


def run_child(dataset: str, caller: str, shared: str, cache_dir: str, prompts: int, rollouts: int) -> int:
    """Build the workload and the computers, then run ``caller`` once (nothing for ``setup``); the samples scored.

    Args:
        dataset: ``bundled`` or ``spider``.
        caller: one of :data:`CALLERS`, or ``setup``.
        shared, cache_dir: as for ``bench engine``.
        prompts, rollouts: the workload's size.

    Returns:
        How many results the caller returned (0 for ``setup``).
    """
    from extensions.cli.bench.callers import RunOptions, hook_overrides
    from extensions.cli.bench.profile import workload
    from extensions.cli.bench.workload import as_completion
    from extensions.execution.engine import EngineSettings, ExecutionEngine
    from extensions.integrations.verl import hook

    samples = workload(dataset, shared, cache_dir, prompts, rollouts)
    opts = RunOptions(EngineSettings(workers=1, timeout_s=10.0, adaptive_timeout=False, inline_budget_ms=600_000.0))
    overrides = {shaping: hook_overrides(opts, shaping=shaping) for shaping in (False, True)}
    for o in overrides.values():
        hook.get_computer(overrides=o)
    eng = ExecutionEngine(opts.settings)
    if caller == "setup":
        return 0
    if caller in PARTS:

        def whole_batch(kind: str) -> Any:
            sols = [as_completion(s.pred) for s in samples]
            gts = [{"sql": s.gold, "db_path": s.db_path} for s in samples]
            if kind == "computer":
                return hook.get_computer(overrides=overrides[False]).compute_rewards(sols, gts)
            return hook.compute_score_batch(None, sols, gts, None, overrides=overrides[False])

        PARTS[caller](samples, eng, whole_batch)
        return len(samples)

    async def one(s: Any) -> Any:
        if caller == "engine_async":
            return await eng.match_async(s.db_path, s.pred, s.gold, semantics="bird")
        gold = {"sql": s.gold, "db_path": s.db_path}
        return await hook.compute_score_async(
            "bench", as_completion(s.pred), gold, None, overrides=overrides[caller == "hook_async_shaping"]
        )

    async def gather() -> list[Any]:
        return await asyncio.gather(*(one(s) for s in samples))

    return len(asyncio.run(gather()))


def count(args: argparse.Namespace, dataset: str, caller: str) -> int:
    """Instructions callgrind collected for one child (``run_child``)."""
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        __name__,
        dataset,
        caller,
        args.shared,
        args.cache_dir,
        str(args.prompts),
        str(args.rollouts),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}, check=False)
    m = _COLLECTED.search(proc.stderr)
    if proc.returncode != 0 or m is None:
        raise SystemExit(f"error: callgrind run of {caller} on {dataset} failed: {proc.stderr[-500:]}")
    return int(m.group(1))


def cmd_instructions(args: argparse.Namespace) -> dict:
    """``bench instructions``: per dataset, each caller's instructions beyond the setup's, and their ratios.

    Args:
        args: the bench's options (``--datasets`` bundled/spider, ``--callers``, ``--parts``, ``--prompts``,
            ``--rollouts``).

    Returns:
        Per dataset: ``setup`` and each caller's instructions, ``hook_over_engine_async`` ratios.

    Raises:
        SystemExit: valgrind is not installed, or a run failed.
    """
    if shutil.which("valgrind") is None:
        raise SystemExit("error: bench instructions needs valgrind (apt-get install valgrind)")
    names = [n for n in (args.callers or ",".join(CALLERS)).split(",") if n in CALLERS]
    names += list(PARTS) if getattr(args, "parts", False) else []
    out: dict[str, Any] = {}
    for ds in [d for d in args.datasets.split(",") if d in ("bundled", "spider")]:
        print(f"[bench] instructions {ds}: setup", file=sys.stderr, flush=True)
        setup = count(args, ds, "setup")
        res: dict[str, Any] = {"setup": setup}
        for n in names:
            print(f"[bench] instructions {ds}: {n}", file=sys.stderr, flush=True)
            res[n] = count(args, ds, n) - setup
        if "engine_async" in res:
            others = [n for n in names if n in CALLERS and n != "engine_async"]
            res["over_engine_async"] = {n: res[n] / res["engine_async"] for n in others}
        out[ds] = res
    return out


if __name__ == "__main__":  # the child under callgrind: os._exit skips the interpreter's teardown
    ds_, caller_, shared_, cache_, prompts_, rollouts_ = sys.argv[1:7]
    run_child(ds_, caller_, shared_, cache_, int(prompts_), int(rollouts_))
    sys.stdout.flush()
    os._exit(0)
