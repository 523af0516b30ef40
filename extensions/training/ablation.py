"""What each shaping component does: GRPO arms that differ only in the reward, on the same seeds.

Per seed the model is warmed up (SFT) once and saved to ``OUT/seed-<s>/sft``; every arm starts from those
weights, sees the same prompts in the same order (the trainer's data seed) and is measured greedily on
the same held-out prompts with the same fixed measuring reward. Each finished (arm, seed) is written to
``OUT/seed-<s>/<arm>.json`` with its per-prompt outcomes; a rerun skips it, so the ablation runs in pieces.
:mod:`extensions.training.ablation_report` turns those files into the results JSON.

Arms come from :mod:`extensions.rewards.arms`.

>>> DEFAULT_ARMS
('baseline', 'all', 'all_narrow', 'result')
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from extensions.config import Config, load_config
from extensions.rewards.arms import ARM_OVERRIDES as ARMS
from extensions.training import ablation_report
from extensions.training.smollm import quiet_transformers

DEFAULT_ARMS = ("baseline", "all", "all_narrow", "result")


@dataclass
class Plan:
    """Everything one ablation does; printed by ``--dry-run`` and stored as ``config`` in the JSON."""

    arms: list[str]
    seeds: list[int]
    steps: int
    sft_warmup: int
    config_file: str
    model: str
    out: str
    overrides: list[str] = field(default_factory=list)
    threads: int | None = None
    heldout_limit: int | None = None

    def arm_overrides(self, arm: str) -> list[str]:
        """The config overrides of ``arm``: the model's and the plan's own, then the arm's reward switches."""
        from extensions.training.cli import TINY_SETTINGS
        from extensions.training.model import is_tiny

        return [
            f"optimization.model_name={self.model}",
            *(TINY_SETTINGS if is_tiny(self.model) else []),
            *self.overrides,
            *ARMS[arm],
        ]

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data, with each arm's overrides and the statistics used."""
        from extensions.training.stats import HIERARCHICAL

        return {
            "arms": {a: ARMS[a] for a in self.arms},
            "seeds": self.seeds,
            "steps": self.steps,
            "sft_warmup": self.sft_warmup,
            "config_file": self.config_file,
            "model": self.model,
            "overrides": self.overrides,
            "threads": self.threads,
            "heldout_limit": self.heldout_limit,
            "test": HIERARCHICAL,
        }


def load_arm_config(plan: Plan, arm: str) -> Config:
    """The config of one arm: the plan's file, model and overrides, then the arm's reward switches."""
    return load_config(plan.config_file, overrides=plan.arm_overrides(arm))


def arm_path(out: str, seed: int, arm: str) -> str:
    """The result file of one (arm, seed).

    >>> arm_path("o", 2, "all")
    'o/seed-2/all.json'
    """
    return os.path.join(out, f"seed-{seed}", f"{arm}.json")


def _read(path: str) -> dict[str, Any]:
    with open(path) as fh:
        return json.load(fh)


def _dump(path: str, doc: dict[str, Any]) -> None:
    tmp = path + ".part"
    with open(tmp, "w") as fh:
        json.dump(doc, fh)
    os.replace(tmp, path)  # a killed run never leaves a half-written result that a rerun would skip


def _curve(metrics_path: str) -> dict[str, list]:
    from extensions.training.metrics import read_metrics

    rows = read_metrics(metrics_path) if os.path.exists(metrics_path) else []
    keys = {
        "reward": "rewards/sql_reward/mean",
        "reward_std": "reward_std",
        "exec_match": "rewards/acc/mean",
        "zero_std": "frac_reward_zero_std",
    }
    return {"step": [r["step"] for r in rows], **{k: [r.get(v) for r in rows] for k, v in keys.items()}}


def seed_policy(plan: Plan, seed: int, engine: Any) -> Any:
    """The SFT-warmed policy of ``seed``: loaded from ``OUT/seed-<s>/sft`` or trained, measured and saved there.

    Args:
        plan: the ablation plan.
        seed: the seed (SFT batches and, for the tiny model, initial weights).
        engine: the shared execution engine.

    Returns:
        The :class:`~extensions.training.runner.Policy`; ``OUT/seed-<s>/sft.json`` holds its held-out
        per-prompt outcomes before training and after SFT (the ``sft_only`` reference).
    """
    from extensions.training.heldout import evaluate_heldout, measuring_computer
    from extensions.training.runner import RunOptions, load, warm_up

    root = os.path.join(plan.out, f"seed-{seed}")
    sft_dir, sft_json = os.path.join(root, "sft"), os.path.join(root, "sft.json")
    cfg = load_arm_config(plan, plan.arms[0])
    opts = RunOptions(
        out_dir=root,
        demo=True,
        seed=seed,
        sft_warmup=plan.sft_warmup,
        threads=plan.threads,
        heldout_limit=plan.heldout_limit,
    )
    if os.path.exists(sft_json):
        return _reload(cfg, opts, engine, sft_dir)
    os.makedirs(root, exist_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    policy = load(cfg, opts, engine)
    measure, max_new = measuring_computer(engine), cfg.optimization.max_response_length
    # A pretrained base is the same for every seed (greedy decoding): measured once; the tiny one is per seed.
    base_json = os.path.join(root if policy.tiny else plan.out, "base.json")
    if os.path.exists(base_json):
        before = _read(base_json)
    else:
        before = evaluate_heldout(
            policy.model, policy.tok, policy.heldout_rows, measure, max_new, desc=f"seed {seed} base"
        )
        _dump(base_json, {"metrics": before[0], **before[1]})
        before = {"metrics": before[0], **before[1]}
    policy = warm_up(cfg, policy, opts)
    after = evaluate_heldout(policy.model, policy.tok, policy.heldout_rows, measure, max_new, desc=f"seed {seed} sft")
    with quiet_transformers():
        policy.model.save_pretrained(sft_dir)
    _dump(
        sft_json,
        {
            "seed": seed,
            "before": before,
            "sft_only": {"metrics": after[0], **after[1]},
            "prompt_ids": ablation_report.prompt_ids(policy.heldout_rows),
            "wall_s": round(time.perf_counter() - t0, 1),
            "cpu_s": round(time.process_time() - c0, 1),
        },
    )
    return policy


def _reload(cfg: Config, opts: Any, engine: Any, sft_dir: str) -> Any:
    import dataclasses

    from extensions.training.runner import load

    if not os.path.exists(os.path.join(sft_dir, "adapter_config.json")):
        return load(cfg, opts, engine, base_dir=sft_dir)  # the tiny model: its full warmed-up weights
    from peft import PeftModel

    policy = load(cfg, opts, engine)
    return dataclasses.replace(policy, model=PeftModel.from_pretrained(policy.model, sft_dir, is_trainable=True))


def run_arm(plan: Plan, arm: str, seed: int, policy: Any, engine: Any) -> dict[str, Any]:
    """GRPO for one (arm, seed) from a copy of the seed's SFT weights; writes and returns its result.

    Args:
        plan: the ablation plan.
        arm: the arm's name.
        seed: the seed (GRPO sampling and data order).
        policy: the seed's SFT policy (not modified).
        engine: the shared execution engine.

    Returns:
        ``{"arm", "seed", "metrics", "exec_match", "hallucinated", "curve", "wall_s", "cpu_s"}``.
    """
    from extensions.rewards.enhanced import EnhancedRewardComputer
    from extensions.training.heldout import evaluate_heldout, measuring_computer
    from extensions.training.runner import RunOptions, clone, set_seed, train_grpo

    cfg = load_arm_config(plan, arm)
    set_seed(seed)
    opts = RunOptions(
        out_dir=os.path.join(plan.out, f"seed-{seed}", arm),
        num_steps=plan.steps,
        demo=True,
        seed=seed,
        progress=f"seed {seed} {arm}",
        threads=plan.threads,
    )
    os.makedirs(opts.out_dir, exist_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    trainer = train_grpo(cfg, clone(policy), opts, EnhancedRewardComputer.from_config(cfg, engine=engine))
    metrics, per_prompt = evaluate_heldout(
        trainer.model,
        policy.tok,
        policy.heldout_rows,
        measuring_computer(engine),
        cfg.optimization.max_response_length,
        desc=f"seed {seed} {arm} eval",
    )
    curve = _curve(os.path.join(opts.out_dir, "metrics.jsonl"))
    zs = [v for v in curve["zero_std"] if v is not None]
    doc = {
        "arm": arm,
        "seed": seed,
        "metrics": {**metrics, "zero_std_group_frac": sum(zs) / len(zs) if zs else None},
        **per_prompt,
        "curve": curve,
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(time.process_time() - c0, 1),
    }
    _dump(arm_path(plan.out, seed, arm), doc)
    return doc


def run_ablation(plan: Plan) -> dict[str, Any]:
    """Run every (arm, seed) of ``plan`` not finished yet, then collect ``OUT/ablation.json`` and ``OUT/ablation.png``.

    Args:
        plan: the ablation plan.

    Returns:
        The results document of :func:`extensions.training.ablation_report.collect`.
    """
    from extensions.execution import ExecutionEngine

    os.makedirs(plan.out, exist_ok=True)
    with open(os.path.join(plan.out, "plan.json"), "w") as fh:
        json.dump(plan.to_dict(), fh, indent=1)
    engine = ExecutionEngine(load_arm_config(plan, plan.arms[0]).execution.engine_settings())
    try:
        for seed in plan.seeds:
            todo = [a for a in plan.arms if not os.path.exists(arm_path(plan.out, seed, a))]
            if not todo:
                continue
            policy = seed_policy(plan, seed, engine)
            for arm in todo:
                res = run_arm(plan, arm, seed, policy, engine)
                print(
                    f"[ablation] seed {seed} {arm}: exec match {res['metrics']['exec_match']:.3f} "
                    f"({res['wall_s']:.0f} s)",
                    file=sys.stderr,
                )
    finally:
        engine.close()
    return ablation_report.write(plan.out, os.path.join(plan.out, "ablation.json"))


SMOLLM2_STEPS, SMOLLM2_SFT = 15, 50
TINY_STEPS, TINY_SFT = 20, 400
# Smaller GRPO batches for the tiny toy (4 prompts x 4 completions) so that several arms x 3 seeds stay cheap.
TINY_OVERRIDES = ["optimization.batch_size=4", "grpo.num_generations=4"]


def parse_args(argv: list[str] | None = None) -> Any:
    """The command line of ``python -m extensions.ablation``."""
    import argparse

    p = argparse.ArgumentParser(
        prog="python -m extensions.ablation",
        description=(
            "GRPO arms that differ only in the reward, on the same seeds, data and SFT weights. Each finished "
            "(arm, seed) goes to OUT/seed-<s>/<arm>.json and is skipped when rerun; OUT/ablation.json and "
            "OUT/ablation.png collect them."
        ),
    )
    p.add_argument(
        "--arms",
        default=",".join(DEFAULT_ARMS),
        help=f"comma-separated arms of {', '.join(ARMS)} (default: %(default)s)",
    )
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (0..N-1) (default: %(default)s)")
    p.add_argument("--model", default="smollm2-135m", help="smollm2-135m (default), tiny, or a hub name / path")
    p.add_argument("--demo", action="store_true", help="the tiny toy model (same as --model tiny)")
    p.add_argument("--steps", type=int, help=f"GRPO steps per arm (default: {SMOLLM2_STEPS}; tiny {TINY_STEPS})")
    p.add_argument("--sft-warmup", type=int, help=f"SFT steps once per seed (default: {SMOLLM2_SFT}; tiny {TINY_SFT})")
    p.add_argument("--config", default="configs/demo_cpu.yaml", help="YAML config (default: %(default)s)")
    p.add_argument(
        "--out", default="outputs/ablation", help="output folder; rerun with it to resume (default: %(default)s)"
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override for every arm")
    p.add_argument("--heldout", type=int, metavar="N", help="measure N evenly spaced held-out prompts (default: all)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: all cores; 1 for the tiny model)")
    p.add_argument(
        "--collect", metavar="JSON", help="only collect the finished runs in --out into JSON (and a PNG next to it)"
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    return p.parse_args(argv)


def make_plan(args: Any) -> Plan:
    """The :class:`Plan` of parsed arguments; unknown arms raise ``ValueError``."""
    from extensions.training.model import is_tiny

    model = "tiny" if args.demo else args.model
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = [a for a in arms if a not in ARMS]
    if unknown or not arms:
        raise ValueError(f"unknown arm(s) {unknown}; choose from {', '.join(ARMS)}")
    tiny = is_tiny(model)
    return Plan(
        arms=arms,
        seeds=list(range(args.seeds)),
        steps=args.steps or (TINY_STEPS if tiny else SMOLLM2_STEPS),
        sft_warmup=args.sft_warmup if args.sft_warmup is not None else (TINY_SFT if tiny else SMOLLM2_SFT),
        config_file=args.config,
        model=model,
        out=os.path.abspath(args.out),
        overrides=[*(TINY_OVERRIDES if tiny else []), "logging.save_every=100000", *args.set],
        threads=args.threads,
        heldout_limit=args.heldout,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (2 for bad arguments or config)."""
    from extensions.errors import ConfigError

    args = parse_args(argv)
    if args.collect:
        doc = ablation_report.write(os.path.abspath(args.out), args.collect)
        print(json.dumps({a: r["exec_match"] for a, r in doc["arms"].items()}, indent=1))
        return 0
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
    print(json.dumps({a: r["exec_match"] for a, r in doc["arms"].items()}, indent=1))
    return 0
