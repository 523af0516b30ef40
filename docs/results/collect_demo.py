#!/usr/bin/env python
"""Run the README's demo command for several seeds; collect eval.json, the per-step curves, CPU and wall time.

    python docs/results/collect_demo.py --seeds 0                     # writes demo_eval.json and its figure
    python docs/results/collect_demo.py --seeds 0 --busy 4 --json docs/results/demo_busy.json --figure ""
    python docs/results/collect_demo.py --replot                      # redraw the figure from demo_eval.json
    python docs/results/render.py

Every eval.json is kept whole (per-prompt outcomes, resources), so the intervals can be recomputed; every run
keeps the per-step numbers its figure shows. ``docs/results/demo_reward_curves.png`` is drawn from seed
``--seeds[0]``'s run in the JSON and records the JSON's SHA-256 (tests/test_docs.py compares them).

CPU seconds are user + system time of the command and its reaped children (``os.wait4``), which a shared
machine inflates less than wall time; peak RSS is the largest resident set of any one of those processes.
``--busy N`` starts one job of N processes that spin on the CPU for the whole run (and stops them after), to
measure the demo beside them; the job has a session of its own, as another user's job would (where autogroup
scheduling is on, Linux shares the cores between sessions before it shares them between processes). The load
average when each run started and ended is recorded next to its times.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)  # the checkout's own extensions package
COMMAND = "python train_colab.py --demo --config configs/demo_cpu.yaml --output-dir {out} --seed {seed}"
FIGURE = os.path.join(HERE, "demo_reward_curves.png")
# One job of N processes that spin on the CPU: the first forks the others, all in its session and process group.
SPIN = (
    "import os, sys\n"
    "for _ in range(int(sys.argv[1]) - 1):\n"
    "    if os.fork() == 0:\n"
    "        break\n"
    "while True:\n"
    "    pass\n"
)

GRPO_KEYS = {
    "sampled_exec_match": "rewards/acc/mean",
    "frac_reward_zero_std": "frac_reward_zero_std",
    "reward_std": "rewards/sql_reward/std",
}


def read_steps(run_dir: str) -> list[dict]:
    """The per-step numbers of a run's metrics.jsonl that its figure shows."""
    from extensions.training.plots import plotted_keys

    keys = plotted_keys()
    with open(os.path.join(run_dir, "metrics.jsonl")) as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [{k: r[k] for k in keys if k in r} for r in rows]


def grpo_summary(steps: list[dict]) -> dict:
    """Means over the GRPO steps: sampled exec match, zero-std groups, reward spread."""
    out: dict = {"steps": len(steps)}
    for name, key in GRPO_KEYS.items():
        vals = [r[key] for r in steps if isinstance(r.get(key), (int, float))]
        out[name] = round(sum(vals) / len(vals), 4) if vals else None
    return out


def run_seed(seed: int, out: str, extra: str = "") -> dict:
    """Run the command for one seed; its eval.json, per-step numbers, CPU, wall, peak RSS and load average."""
    cmd = COMMAND.format(out=os.path.join(out, f"seed-{seed}"), seed=seed) + (" " + extra if extra else "")
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    with open(os.path.join(out, f"seed-{seed}.log"), "w") as log:
        proc = subprocess.Popen(cmd.split(), cwd=ROOT, stdout=log, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)  # this command's own CPU time, with its reaped children
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"seed {seed} failed ({os.waitstatus_to_exitcode(status)}); see {log.name}")
    wall = time.perf_counter() - t0
    run_dir = os.path.join(out, f"seed-{seed}")
    with open(os.path.join(run_dir, "eval.json")) as fh:
        ev = json.load(fh)
    steps = read_steps(run_dir)
    return {
        "seed": seed,
        "eval": ev,
        "grpo": grpo_summary(steps),
        "steps": steps,
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "load_avg": [round(load0, 1), round(os.getloadavg()[0], 1)],
    }


def _autogroup() -> bool | None:
    """Whether the kernel shares the cores between sessions first (``sched_autogroup_enabled``); None: unknown."""
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as fh:
            return fh.read().strip() == "1"
    except OSError:
        return None


def draw(doc: dict, png: str) -> str:
    """The demo figure of the first run in ``doc``; the PNG records ``doc``'s SHA-256."""
    from extensions.training.plots import draw_run

    run = doc["runs"][0]
    return draw_run(run["steps"], png, run["eval"], source=doc)


def measure(args: argparse.Namespace) -> dict:
    """Run every seed (beside ``--busy`` spinning processes) and return the document."""
    os.makedirs(args.out, exist_ok=True)
    job = subprocess.Popen([sys.executable, "-c", SPIN, str(args.busy)], start_new_session=True) if args.busy else None
    try:
        with ThreadPoolExecutor(args.jobs) as pool:
            runs = list(pool.map(lambda s: run_seed(s, args.out, args.extra), args.seeds))
    finally:
        if job is not None:
            os.killpg(job.pid, signal.SIGKILL)  # the job's session leads its process group
            job.wait()
    command = COMMAND.format(out="outputs/demo", seed="N").replace(" --seed N", "")
    return {
        "command": command,
        "measured_with": (command + " " + args.extra).strip(),
        "cpu_count": os.cpu_count(),
        "busy_processes": args.busy,
        "autogroup": _autogroup(),
        "note": args.note,
        "runs": runs,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", default="/tmp/demo_runs")
    p.add_argument("--jobs", type=int, default=1, help="seeds run at once")
    p.add_argument("--extra", default="", help="flags added to the command (recorded in the JSON)")
    p.add_argument("--busy", type=int, default=0, help="CPU-spinning processes kept running beside the runs")
    p.add_argument("--note", default="", help="what else ran on the machine, in words (recorded in the JSON)")
    p.add_argument(
        "--json", default=os.path.join(HERE, "demo_eval.json"), help="where the results go (default: %(default)s)"
    )
    p.add_argument("--figure", default=FIGURE, help="figure drawn from the JSON ('' for none; default: %(default)s)")
    p.add_argument("--replot", action="store_true", help="only redraw the figure from the existing --json")
    args = p.parse_args()
    if args.replot:
        with open(args.json) as fh:
            doc = json.load(fh)
    else:
        doc = measure(args)
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=1)
    if args.figure:
        print("figure:", draw(doc, args.figure))
    runs = doc["runs"]
    print(json.dumps([{k: r.get(k) for k in ("seed", "cpu_s", "wall_s", "peak_rss_mb", "load_avg")} for r in runs]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
