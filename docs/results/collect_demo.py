#!/usr/bin/env python
"""Run the README's demo command for several seeds and collect eval.json, CPU and wall time into demo_eval.json.

    python docs/results/collect_demo.py --seeds 0 --out /tmp/demo_runs [--extra "--threads 1"]
    python docs/results/render.py

Every eval.json is kept whole, per-prompt outcomes included, so the intervals can be recomputed.
The load average when each run started and ended is recorded next to its times.

CPU seconds are user + system time of the command and its reaped children (``os.wait4``), which a
shared machine inflates less than wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COMMAND = "python train_colab.py --demo --config configs/demo_cpu.yaml --output-dir {out} --seed {seed}"


GRPO_KEYS = {
    "sampled_exec_match": "rewards/acc/mean",
    "frac_reward_zero_std": "frac_reward_zero_std",
    "reward_std": "rewards/sql_reward/std",
}


def grpo_summary(run_dir: str) -> dict:
    """Means over the GRPO steps of a run's metrics.jsonl: sampled exec match, zero-std groups, reward spread."""
    with open(os.path.join(run_dir, "metrics.jsonl")) as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    out: dict = {"steps": len(rows)}
    for name, key in GRPO_KEYS.items():
        vals = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
        out[name] = round(sum(vals) / len(vals), 4) if vals else None
    return out


def run_seed(seed: int, out: str, extra: str = "") -> dict:
    cmd = COMMAND.format(out=os.path.join(out, f"seed-{seed}"), seed=seed) + (" " + extra if extra else "")
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    with open(os.path.join(out, f"seed-{seed}.log"), "w") as log:
        proc = subprocess.Popen(cmd.split(), cwd=ROOT, stdout=log, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)  # this command's own CPU time, with its reaped children
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"seed {seed} failed ({proc.returncode}); see {log.name}")
    wall = time.perf_counter() - t0
    cpu = usage.ru_utime + usage.ru_stime
    with open(os.path.join(out, f"seed-{seed}", "eval.json")) as fh:
        ev = json.load(fh)
    return {
        "seed": seed,
        "eval": ev,
        "grpo": grpo_summary(os.path.join(out, f"seed-{seed}")),
        "cpu_s": round(cpu, 1),
        "wall_s": round(wall, 1),
        "load_avg": [round(load0, 1), round(os.getloadavg()[0], 1)],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", default="/tmp/demo_runs")
    p.add_argument("--jobs", type=int, default=1, help="seeds run at once")
    p.add_argument("--extra", default="", help="flags added to the command (recorded in the JSON)")
    p.add_argument(
        "--json", default=os.path.join(HERE, "demo_eval.json"), help="where the results go (default: %(default)s)"
    )
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(lambda s: run_seed(s, args.out, args.extra), args.seeds))
    command = COMMAND.format(out="outputs/demo", seed="N").replace(" --seed N", "")
    doc = {
        "command": command,
        "measured_with": (command + " " + args.extra).strip(),
        "cpu_count": os.cpu_count(),
        "runs": runs,
    }
    with open(args.json, "w") as fh:
        json.dump(doc, fh, indent=1)
    print(
        json.dumps(
            [
                {
                    "seed": r["seed"],
                    "gain": r["eval"].get("exec_match_gain"),
                    "cpu_s": r["cpu_s"],
                    "wall_s": r["wall_s"],
                }
                for r in runs
            ]
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
