"""What each shaping component does: GRPO arms that differ only in the reward, on the same seeds.

Per seed the model is built and warmed up once; every arm starts from a copy of those weights, sees
the same prompts in the same order (the trainer's data seed) and is measured on the same held-out
prompts with the same fixed measuring reward. Each arm is compared with the baseline arm on the same
seed (paired differences; see :mod:`extensions.training.stats` for the test).

>>> sorted(ARMS)
['all', 'all_narrow', 'all_result', 'baseline', 'result', 'schema', 'structural', 'syntax']
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from extensions.config import Config, load_config
from extensions.rewards.arms import ARM_OVERRIDES as ARMS
from extensions.training import stats

METRICS = ("exec_match", "hallucination_rate", "syntax_error_rate", "structural_f1", "zero_std_group_frac")


@dataclass
class Plan:
    """Everything one ablation does; printed by ``--dry-run`` and stored as ``config`` in the JSON."""

    arms: list[str]
    seeds: list[int]
    steps: int
    sft_warmup: int
    config_file: str
    demo: bool
    model: str | None
    out: str
    overrides: list[str] = field(default_factory=list)

    def arm_overrides(self, arm: str) -> list[str]:
        """The config overrides of ``arm`` (after the plan's own)."""
        return [*self.overrides, *ARMS[arm]]

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data, with each arm's overrides and the test used."""
        return {"arms": {a: ARMS[a] for a in self.arms}, "seeds": self.seeds, "steps": self.steps, "sft_warmup": self.sft_warmup,
                "config_file": self.config_file, "demo": self.demo, "model": self.model, "overrides": self.overrides,
                "test": stats.METHOD}


def load_arm_config(plan: Plan, arm: str) -> Config:
    """The config of one arm: the plan's file, model and overrides, then the arm's reward switches."""
    extra = [f"optimization.model_name={plan.model}"] if plan.model else []
    return load_config(plan.config_file, overrides=[*extra, *plan.arm_overrides(arm)])


def _curve(metrics_path: str) -> dict[str, list]:
    from extensions.training.metrics import read_metrics

    rows = read_metrics(metrics_path) if os.path.exists(metrics_path) else []
    return {"step": [r["step"] for r in rows], "reward": [r.get("rewards/sql_reward/mean") for r in rows],
            "exec_match": [r.get("rewards/acc/mean") for r in rows], "zero_std": [r.get("frac_reward_zero_std") for r in rows]}


def _seed_result(seed: int, after: dict[str, float], curve: dict[str, list]) -> dict[str, Any]:
    zs = [v for v in curve["zero_std"] if v is not None]
    return {"seed": seed, **after, "zero_std_group_frac": sum(zs) / len(zs) if zs else None, "curve": curve}


def run_seed(plan: Plan, seed: int, engine: Any) -> tuple[dict[str, float] | None, dict[str, dict[str, Any]], int]:
    """Warm up once for ``seed``, then train and measure every arm from a copy of those weights.

    Args:
        plan: the ablation plan.
        seed: the seed (initial weights, SFT batches, GRPO sampling and data order).
        engine: the shared execution engine.

    Returns:
        ``(held-out metrics before GRPO, {arm: per-seed result}, number of held-out prompts)``.
    """
    from extensions.reward_enhanced import EnhancedRewardComputer
    from extensions.training.heldout import evaluate_heldout, measuring_computer
    from extensions.training.runner import RunOptions, clone, demo_sizes, prepare_policy, set_seed, train_grpo

    root = os.path.join(plan.out, f"seed-{seed}")
    os.makedirs(root, exist_ok=True)
    base_cfg = load_arm_config(plan, plan.arms[0])
    policy = prepare_policy(base_cfg, RunOptions(out_dir=root, demo=plan.demo, seed=seed, sft_warmup=plan.sft_warmup), engine)
    measure = measuring_computer(engine)
    max_new = demo_sizes(base_cfg, policy.tiny).optimization.max_response_length
    before = evaluate_heldout(policy.model, policy.tok, policy.heldout_rows, measure, max_new)[0] if policy.heldout_rows else None
    out: dict[str, dict[str, Any]] = {}
    for arm in plan.arms:
        cfg = demo_sizes(load_arm_config(plan, arm), policy.tiny)
        set_seed(seed)
        opts = RunOptions(out_dir=os.path.join(root, arm), num_steps=plan.steps, demo=plan.demo, seed=seed, progress=f"seed {seed} {arm}")
        os.makedirs(opts.out_dir, exist_ok=True)
        trainer = train_grpo(cfg, clone(policy), opts, EnhancedRewardComputer.from_config(cfg, engine=engine))
        after = evaluate_heldout(trainer.model, policy.tok, policy.heldout_rows, measure, max_new)[0] if policy.heldout_rows else {}
        out[arm] = _seed_result(seed, after, _curve(os.path.join(opts.out_dir, "metrics.jsonl")))
    return before, out, len(policy.heldout_rows)


def _paired_metric(seeds: list[dict[str, Any]], base: dict[int, dict[str, Any]], metric: str) -> dict[str, object]:
    pairs = [(s[metric], base[s["seed"]][metric]) for s in seeds
             if s["seed"] in base and s.get(metric) is not None and base[s["seed"]].get(metric) is not None]
    return stats.paired([a for a, _ in pairs], [b for _, b in pairs])


def summarize(plan: Plan, per_arm: dict[str, list[dict[str, Any]]], before: dict[int, Any], heldout_n: int) -> dict[str, Any]:
    """The ``ablation.json`` document from per-seed results.

    Args:
        plan: the ablation plan.
        per_arm: ``{arm: [per-seed result, ...]}`` in seed order.
        before: held-out metrics before GRPO per seed.
        heldout_n: number of held-out prompts.

    Returns:
        ``{"arms", "paired_vs_baseline", "config"}``.
    """
    arms: dict[str, Any] = {}
    for arm, seeds in per_arm.items():
        arms[arm] = {"seeds": seeds, **{m: stats.mean_ci([s[m] for s in seeds if s.get(m) is not None]) for m in METRICS}}
    paired: dict[str, Any] = {}
    if "baseline" in per_arm:
        base = {s["seed"]: s for s in per_arm["baseline"]}
        for arm, seeds in per_arm.items():
            if arm == "baseline":
                continue
            paired[arm] = {m: _paired_metric(seeds, base, m) for m in METRICS}
    resolved = load_arm_config(plan, plan.arms[0]).model_dump(mode="json") if os.path.exists(plan.config_file) else None
    config = {**plan.to_dict(), "heldout_n": heldout_n, "decoding": "greedy", "before": {str(k): v for k, v in before.items()},
              "resolved_first_arm": resolved}
    return {"arms": arms, "paired_vs_baseline": paired, "config": config}


def run_ablation(plan: Plan) -> dict[str, Any]:
    """Run every seed and arm of ``plan``; writes ``ablation.json`` and ``ablation.png`` into ``plan.out``.

    Args:
        plan: the ablation plan.

    Returns:
        The ``ablation.json`` document.
    """
    from extensions.execution import ExecutionEngine
    from extensions.training.plots import plot_ablation

    os.makedirs(plan.out, exist_ok=True)
    engine = ExecutionEngine(load_arm_config(plan, plan.arms[0]).execution.engine_settings())
    per_arm: dict[str, list[dict[str, Any]]] = {a: [] for a in plan.arms}
    before: dict[int, Any] = {}
    n = 0
    try:
        for seed in plan.seeds:
            before[seed], results, n = run_seed(plan, seed, engine)
            for arm, res in results.items():
                per_arm[arm].append(res)
            print(f"[ablation] seed {seed} done: " + ", ".join(f"{a} {r.get('exec_match', 0):.3f}" for a, r in results.items()), file=sys.stderr)
    finally:
        engine.close()
    doc = summarize(plan, per_arm, before, n)
    with open(os.path.join(plan.out, "ablation.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
    plot_ablation(doc, os.path.join(plan.out, "ablation.png"))
    return doc


DEMO_CONFIG = "configs/demo_cpu.yaml"
DEMO_STEPS = 20
DEMO_SFT = 400
# Smaller GRPO batches than the demo's (4 prompts x 4 completions) so that 5 arms x 3 seeds fit the CPU budget.
DEMO_OVERRIDES = ["optimization.batch_size=4", "grpo.num_generations=4"]


def parse_args(argv: list[str] | None = None) -> Any:
    """The command line of ``python -m extensions.ablation``."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m extensions.ablation", description="GRPO arms that differ only in the reward, "
                                "on the same seeds, data and initial weights; writes OUT/ablation.json and OUT/ablation.png.")
    p.add_argument("--arms", default=",".join(ARMS), help="comma-separated arms (default: %(default)s)")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (0..N-1) (default: %(default)s)")
    p.add_argument("--steps", type=int, help=f"GRPO steps per arm (default: {DEMO_STEPS} with --demo, else 100)")
    p.add_argument("--sft-warmup", type=int, help=f"SFT warm-up steps once per seed (default: {DEMO_SFT} with --demo, else 0)")
    p.add_argument("--config", help=f"YAML config (default: {DEMO_CONFIG} with --demo, else configs/train_24gb.yaml)")
    p.add_argument("--out", default="outputs/ablation", help="output folder (default: %(default)s)")
    p.add_argument("--demo", action="store_true", help="the offline CPU toy setup (tiny model, bundled databases)")
    p.add_argument("--model", help="model name or path (a GPU run with a real model)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override for every arm")
    p.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    return p.parse_args(argv)


def make_plan(args: Any) -> Plan:
    """The :class:`Plan` of parsed arguments; unknown arms raise ``ValueError``."""
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = [a for a in arms if a not in ARMS]
    if unknown or not arms:
        raise ValueError(f"unknown arm(s) {unknown}; choose from {', '.join(ARMS)}")
    return Plan(arms=arms, seeds=list(range(args.seeds)), steps=args.steps or (DEMO_STEPS if args.demo else 100),
                sft_warmup=args.sft_warmup if args.sft_warmup is not None else (DEMO_SFT if args.demo else 0),
                config_file=args.config or (DEMO_CONFIG if args.demo else "configs/train_24gb.yaml"),
                demo=args.demo, model=args.model, out=os.path.abspath(args.out),
                overrides=[*(DEMO_OVERRIDES if args.demo else []), *args.set])


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (2 for bad arguments or config)."""
    from extensions.errors import ConfigError

    args = parse_args(argv)
    try:
        plan = make_plan(args)
        for arm in plan.arms:
            load_arm_config(plan, arm)
    except (ValueError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(json.dumps(plan.to_dict(), indent=1))
        return 0
    doc = run_ablation(plan)
    print(json.dumps({a: {m: doc["arms"][a][m]["mean"] for m in METRICS} for a in doc["arms"]}, indent=1))
    return 0
