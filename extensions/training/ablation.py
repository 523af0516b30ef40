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
from typing import Any

from extensions.config import Config
from extensions.rewards.arms import ARM_OVERRIDES as ARMS
from extensions.training import ablation_report
from extensions.training.plan import Plan, load_arm_config, provenance
from extensions.training.recipes import RECIPES_FILE, StepRecipe, recipes
from extensions.training.smollm import quiet_transformers

DEFAULT_ARMS = ("baseline", "all", "all_narrow", "result")


class StaleResult(RuntimeError):
    """A finished result in the output folder was made by other code, config, model or plan."""


def reusable(path: str, current: dict[str, Any], replace_stale: bool = False) -> bool:
    """Whether the finished result at ``path`` can be skipped: it exists and its provenance matches.

    Args:
        path: a result file (``sft.json`` or ``<arm>.json``).
        current: the provenance the run would record now (:func:`provenance`).
        replace_stale: rerun a mismatching result instead of stopping.

    Returns:
        True to skip; False to run (missing, or stale with ``replace_stale``).

    Raises:
        StaleResult: the file's provenance differs and ``replace_stale`` is off; the message names the fields.
    """
    from extensions.training.provenance import mismatches

    if not os.path.exists(path):
        return False
    differ = mismatches(_read(path).get("provenance"), current)
    if not differ:
        return True
    if replace_stale:
        print(f"[ablation] rerunning {path}: its {', '.join(differ)} differ", file=sys.stderr)
        return False
    raise StaleResult(
        f"{path} was made with another {', '.join(differ)}; rerun from the commit that made it, or pass "
        "--replace-stale to redo it with this code"
    )


def write_plan(plan: Plan) -> dict[str, Any]:
    """Write ``OUT/plan.json``, or grow an existing one by this plan's arms and seeds.

    Args:
        plan: the plan.

    Returns:
        The plan document now on disk.

    Raises:
        StaleResult: the folder holds a plan with another recipe (steps, model, config, data, ...).
    """
    path, doc = os.path.join(plan.out, "plan.json"), plan.to_dict()
    if os.path.exists(path):
        old = _read(path)
        if old.get("plan_hash") != doc["plan_hash"]:
            keys = [k for k in plan.recipe() if old.get(k) != doc.get(k)]
            raise StaleResult(f"{plan.out} holds another plan (differs in {', '.join(keys) or 'plan_hash'}); use --out")
        doc["arms"] = {**old.get("arms", {}), **doc["arms"]}
        doc["seeds"] = sorted(set(old.get("seeds", [])) | set(doc["seeds"]))
    os.makedirs(plan.out, exist_ok=True)
    _dump(path, doc, indent=1)
    return doc


def arm_path(out: str, seed: int, arm: str) -> str:
    """The result file of one (arm, seed).

    >>> arm_path("o", 2, "all")
    'o/seed-2/all.json'
    """
    return os.path.join(out, f"seed-{seed}", f"{arm}.json")


def _read(path: str) -> dict[str, Any]:
    with open(path) as fh:
        return json.load(fh)


def _dump(path: str, doc: dict[str, Any], indent: int | None = None) -> None:
    tmp = f"{path}.{os.getpid()}.part"  # processes sharing a folder (plan.json) never race on one temporary
    with open(tmp, "w") as fh:
        json.dump(doc, fh, indent=indent)
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


def seed_policy(plan: Plan, seed: int, engine: Any, replace_stale: bool = False) -> Any:
    """The SFT-warmed policy of ``seed``: loaded from ``OUT/seed-<s>/sft`` or trained, measured and saved there.

    The repository keeps ``sft.json`` but not the adapter: a folder restored from it retrains the adapter (the
    same seed, data and code give the same weights) and checks that its held-out outcomes are the recorded
    ones before any arm uses it.

    Args:
        plan: the ablation plan.
        seed: the seed (SFT batches and, for the tiny model, initial weights).
        engine: the shared execution engine.
        replace_stale: redo an SFT checkpoint whose provenance differs instead of stopping.

    Returns:
        The :class:`~extensions.training.runner.Policy`; ``OUT/seed-<s>/sft.json`` holds its held-out
        per-prompt outcomes before training and after SFT (the ``sft_only`` reference), the prompts' ids,
        databases and skeletons, and its provenance.

    Raises:
        StaleResult: a retrained adapter does not reproduce the recorded outcomes.
    """
    root = os.path.join(plan.out, f"seed-{seed}")
    sft_dir, sft_json = os.path.join(root, "sft"), os.path.join(root, "sft.json")
    cfg, opts, current = load_arm_config(plan, None), _run_options(plan, root, seed), provenance(plan, None)
    if reusable(sft_json, current, replace_stale):
        if os.path.exists(sft_dir):
            return _reload(cfg, opts, engine, sft_dir)
        recorded = _read(sft_json)
        policy, doc = _train_sft(plan, seed, engine, current)
        if doc["sft_only"]["exec_match"] != recorded["sft_only"]["exec_match"]:
            raise StaleResult(f"{sft_json}: the retrained SFT adapter does not reproduce the recorded outcomes")
        return policy
    policy, doc = _train_sft(plan, seed, engine, current)
    _dump(sft_json, doc)
    return policy


def _train_sft(plan: Plan, seed: int, engine: Any, current: dict) -> tuple[Any, dict[str, Any]]:
    """Load, measure the base once, warm up, measure and save the adapter; returns the policy and its record."""
    from extensions.training.heldout import evaluate_heldout, measuring_computer
    from extensions.training.runner import load, warm_up

    root = os.path.join(plan.out, f"seed-{seed}")
    cfg, opts = load_arm_config(plan, None), _run_options(plan, root, seed)
    os.makedirs(root, exist_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    policy = load(cfg, opts, engine)
    measure, max_new = measuring_computer(engine), cfg.optimization.max_response_length
    before = _base_outcomes(plan, seed, policy, measure, max_new, current)
    policy = warm_up(cfg, policy, opts)
    after = evaluate_heldout(policy.model, policy.tok, policy.heldout_rows, measure, max_new, desc=f"seed {seed} sft")
    with quiet_transformers():
        policy.model.save_pretrained(os.path.join(root, "sft"))
    doc = {
        "seed": seed,
        "before": before,
        "sft_only": {"metrics": after[0], **after[1]},
        **ablation_report.prompt_meta(policy.heldout_rows),
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(time.process_time() - c0, 1),
        "provenance": current,
    }
    return policy, doc


def _run_options(plan: Plan, out_dir: str, seed: int, **kw: Any) -> Any:
    from extensions.training.runner import RunOptions

    data = None if plan.data == "demo" else plan.data
    return RunOptions(
        out_dir=out_dir,
        demo=True,
        seed=seed,
        sft_warmup=plan.sft_warmup,
        threads=plan.threads,
        heldout_limit=plan.heldout_limit,
        data=data,
        **kw,
    )


def _base_outcomes(plan: Plan, seed: int, policy: Any, measure: Any, max_new: int, current: dict) -> dict | None:
    """The untrained model's held-out outcomes: once per plan for a pretrained base (greedy), per seed for tiny.

    Processes that share an output folder measure a pretrained base once: the first takes ``base.json.lock``
    and the others leave the measurement to it (None here; the collection reads ``base.json``).
    """
    from extensions.training.heldout import evaluate_heldout

    base_json = os.path.join(plan.out, f"seed-{seed}" if policy.tiny else "", "base.json")
    if os.path.exists(base_json) and _read(base_json).get("provenance") == current:
        doc = _read(base_json)
        return {"metrics": doc["metrics"], "exec_match": doc["exec_match"], "hallucinated": doc["hallucinated"]}
    try:
        lock = os.open(base_json + ".lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        print(f"[ablation] {base_json} is being measured by another process", file=sys.stderr)
        return None
    try:
        metrics, per = evaluate_heldout(
            policy.model, policy.tok, policy.heldout_rows, measure, max_new, desc=f"seed {seed} base"
        )
        _dump(base_json, {"metrics": metrics, **per, "provenance": current})
    finally:
        os.close(lock)
        os.remove(base_json + ".lock")
    return {"metrics": metrics, **per}


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
        ``{"arm", "seed", "metrics", "exec_match", "hallucinated", "curve", "wall_s", "cpu_s", "provenance"}``.
    """
    from extensions.rewards.combine import RewardComputer
    from extensions.training.heldout import evaluate_heldout, measuring_computer
    from extensions.training.runner import clone, set_seed, train_grpo

    cfg = load_arm_config(plan, arm)
    current = provenance(plan, arm)
    set_seed(seed)
    opts = _run_options(
        plan, os.path.join(plan.out, f"seed-{seed}", arm), seed, num_steps=plan.steps, progress=f"seed {seed} {arm}"
    )
    os.makedirs(opts.out_dir, exist_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    trainer = train_grpo(cfg, clone(policy), opts, RewardComputer(cfg, engine=engine))
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
        "provenance": current,
    }
    _dump(arm_path(plan.out, seed, arm), doc)
    return doc


def run_ablation(plan: Plan, replace_stale: bool = False, pilot_prompts: int = 0) -> dict[str, Any] | None:
    """Run every (arm, seed) of ``plan`` not finished yet, then collect ``OUT/ablation.json`` and ``OUT/ablation.png``.

    A finished result is skipped only when its provenance (commit, config, model, plan) matches this run's.

    Args:
        plan: the ablation plan.
        replace_stale: redo results made by other code or config instead of stopping.
        pilot_prompts: first run the pilot (:func:`extensions.training.pilot.run_pilot`) on this many training
            prompts of the first seed's SFT policy, into ``OUT/pilot.json`` (0: no pilot).

    Returns:
        The results document of :func:`extensions.training.ablation_report.collect`, or None when nothing has
        finished yet.

    Raises:
        StaleResult: a finished result or the folder's plan does not match (see :func:`reusable`).
    """
    from extensions.execution import ExecutionEngine

    write_plan(plan)
    engine = ExecutionEngine(load_arm_config(plan, None).execution.engine_settings())
    try:
        for n, seed in enumerate(plan.run_seeds if plan.run_seeds is not None else plan.seeds):
            pilot = pilot_prompts and n == 0
            todo = [
                a for a in plan.arms if not reusable(arm_path(plan.out, seed, a), provenance(plan, a), replace_stale)
            ]
            if not todo and not pilot:
                continue
            policy = seed_policy(plan, seed, engine, replace_stale)
            if pilot:
                from extensions.training.pilot import run_pilot

                run_pilot(plan, policy, engine, pilot_prompts, seed)
            for arm in todo:
                res = run_arm(plan, arm, seed, policy, engine)
                print(
                    f"[ablation] seed {seed} {arm}: exec match {res['metrics']['exec_match']:.3f} "
                    f"({res['wall_s']:.0f} s)",
                    file=sys.stderr,
                )
    finally:
        engine.close()
    try:
        return ablation_report.write(plan.out, os.path.join(plan.out, "ablation.json"))
    except FileNotFoundError:
        return None


def ablation_recipe(data: str, tiny: bool) -> StepRecipe:
    """The recipe of an ablation (``ablation`` in ``configs/recipes.yaml``): steps, SFT steps, shared overrides.

    Args:
        data: ``demo`` or ``spider``.
        tiny: the tiny toy model.

    Returns:
        ``ablation.tiny`` for the tiny model, else ``ablation.demo`` or ``ablation.spider``.

    >>> ablation_recipe("spider", tiny=False).steps, ablation_recipe("demo", tiny=True).sft_steps
    (30, 400)
    """
    ablation = recipes().ablation
    return ablation.tiny if tiny else getattr(ablation, data)


def default_config(data: str) -> str:
    """The run config of an ablation on ``data`` when ``--config`` is not given.

    Args:
        data: ``demo`` or ``spider``.

    Returns:
        ``ablation.<data>.config`` of the recipes.

    Raises:
        ConfigError: the recipe names no config.

    >>> default_config("spider")
    'configs/spider_cpu.yaml'
    """
    from extensions.errors import ConfigError

    config = getattr(recipes().ablation, data).config
    if config is None:
        raise ConfigError(f"{RECIPES_FILE}: ablation.{data} names no config")
    return config


def _recipe_arguments(p: Any) -> None:
    """The arguments whose defaults come from the recipes (``--steps``, ``--sft-warmup``, ``--config``)."""
    a = recipes().ablation

    def per_recipe(field: str) -> str:
        return f"{getattr(a.demo, field)}; --data spider {getattr(a.spider, field)}; tiny {getattr(a.tiny, field)}"

    p.add_argument("--steps", type=int, help=f"GRPO steps per arm (default: {per_recipe('steps')})")
    p.add_argument("--sft-warmup", type=int, help=f"SFT steps once per seed (default: {per_recipe('sft_steps')})")
    configs = f"{default_config('demo')}; --data spider {default_config('spider')}"
    p.add_argument("--config", help=f"YAML config (default: {configs})")


def parse_args(argv: list[str] | None = None) -> Any:
    """The command line of ``python -m extensions.ablation``."""
    import argparse

    p = argparse.ArgumentParser(
        prog="python -m extensions.ablation",
        description=(
            "GRPO arms that differ only in the reward, on the same seeds, data and SFT weights. Each finished "
            "(arm, seed) goes to OUT/seed-<s>/<arm>.json with its provenance (commit, config, model, plan) and "
            "is skipped when rerun with the same; OUT/ablation.json and OUT/ablation.png collect the planned ones."
        ),
        epilog=f"The default steps, SFT steps, configs and the tiny model's settings are recipes in {RECIPES_FILE}.",
    )
    p.add_argument(
        "--arms",
        default=",".join(DEFAULT_ARMS),
        help=f"comma-separated arms of {', '.join(ARMS)} (default: %(default)s)",
    )
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (0..N-1) (default: %(default)s)")
    p.add_argument(
        "--only-seeds",
        metavar="S,S",
        help="run only these of the plan's seeds in this process (e.g. one process per core: 0,2,4 and 1,3)",
    )
    p.add_argument(
        "--data",
        choices=("demo", "spider"),
        default="demo",
        help="demo: the bundled databases (held-out by gold query, reported by seen/unseen skeleton); spider: the "
        "cross-database split of data.spider_dir (extensions/data/spider_split.py) (default: %(default)s)",
    )
    p.add_argument("--model", default="smollm2-135m", help="smollm2-135m (default), tiny, or a hub name / path")
    p.add_argument("--demo", action="store_true", help="the tiny toy model (same as --model tiny)")
    _recipe_arguments(p)
    p.add_argument(
        "--out", default="outputs/ablation", help="output folder; rerun with it to resume (default: %(default)s)"
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override for every arm")
    p.add_argument("--heldout", type=int, metavar="N", help="measure N evenly spaced held-out prompts (default: all)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: all cores; 1 for the tiny model)")
    p.add_argument(
        "--pilot",
        type=int,
        default=0,
        metavar="N",
        help="before the first seed's arms, sample N training prompts from its SFT policy and record each arm's "
        "share of zero-variance groups in OUT/pilot.json (default: no pilot)",
    )
    p.add_argument(
        "--replace-stale", action="store_true", help="redo results made by other code or config instead of stopping"
    )
    p.add_argument(
        "--collect", metavar="JSON", help="only collect the finished runs in --out into JSON (and a PNG next to it)"
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    return p.parse_args(argv)


def make_plan(args: Any) -> Plan:
    """The :class:`Plan` of parsed arguments; unknown arms or seeds raise ``ValueError``."""
    from extensions.training.model import is_tiny

    model = "tiny" if args.demo else args.model
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = [a for a in arms if a not in ARMS]
    if unknown or not arms:
        raise ValueError(f"unknown arm(s) {unknown}; choose from {', '.join(ARMS)}")
    seeds = list(range(args.seeds))
    run_seeds = [int(x) for x in args.only_seeds.split(",") if x.strip()] if args.only_seeds else None
    if run_seeds is not None and not set(run_seeds) <= set(seeds):
        raise ValueError(f"--only-seeds {args.only_seeds}: not among the plan's seeds {seeds}")
    recipe = ablation_recipe(args.data, is_tiny(model))
    return Plan(
        arms=arms,
        seeds=seeds,
        steps=args.steps or recipe.steps,
        sft_warmup=args.sft_warmup if args.sft_warmup is not None else recipe.sft_steps,
        config_file=args.config or default_config(args.data),
        model=model,
        out=os.path.abspath(args.out),
        overrides=[*recipe.overrides, "logging.save_every=100000", *args.set],
        threads=args.threads,
        heldout_limit=args.heldout,
        data=args.data,
        run_seeds=run_seeds,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (2 for bad arguments, config or a stale result)."""
    from extensions.errors import ConfigError

    args = parse_args(argv)
    if args.collect:
        try:
            doc = ablation_report.write(os.path.abspath(args.out), args.collect)
        except (FileNotFoundError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(json.dumps({a: r["exec_match"] for a, r in doc["arms"].items()}, indent=1))
        return 0
    try:
        plan = make_plan(args)
        for arm in plan.arms:
            load_arm_config(plan, arm)
    except (ValueError, ConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(json.dumps(plan.to_dict(), indent=1))
        return 0
    try:
        doc = run_ablation(plan, args.replace_stale, args.pilot)
    except StaleResult as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if doc:
        print(json.dumps({a: r["exec_match"] for a, r in doc["arms"].items()}, indent=1))
    return 0
