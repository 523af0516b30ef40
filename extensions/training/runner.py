"""The TRL GRPO runner: data, optional SFT warm-up, held-out check before and after, GRPO, outputs.

``train_colab.py`` and ``python -m extensions.ablation`` both call :func:`run`. Outputs in
``out_dir``: ``metrics.jsonl``, ``reward_curves.png``, ``eval.json`` (held-out before/after),
``final/``, ``checkpoint-<step>/``; in the tiny demo also ``base/`` and ``sft_metrics.jsonl``.

>>> RunOptions(out_dir="x").num_steps
10
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import random
import sys
from dataclasses import dataclass, field
from typing import Any

from extensions.config import Config
from extensions.training.callbacks import MetricsCallback, quiet_console
from extensions.training.data import training_rows
from extensions.training.heldout import DECODING, evaluate_heldout, measuring_computer
from extensions.training.model import load_policy, lora_config
from extensions.training.model_card import use_own_model_card
from extensions.training.recipes import recipes
from extensions.training.resources import Meter
from extensions.training.smollm import is_smollm2, quiet_transformers
from extensions.training.threads import apply_threads, plan_threads


@dataclass
class RunOptions:
    """What one training run does (the CLI flags of ``train_colab.py``)."""

    out_dir: str
    num_steps: int = 10
    demo: bool = False
    seed: int = 0
    sft_warmup: int = 0
    data: str | None = None
    resume: str | None = None
    evaluate: bool = True
    progress: str = "grpo"
    threads: int | None = None
    busy_cores: float | None = None
    heldout_limit: int | None = None
    extra_callbacks: list[Any] = field(default_factory=list)


@dataclass
class Policy:
    """A model ready for GRPO: weights, tokenizer, whether it is the tiny demo model, the rows it uses."""

    model: Any
    tok: Any
    tiny: bool
    train_rows: list[dict]
    heldout_rows: list[dict]
    style: str = "compact"


def torch_threads() -> int:
    """Torch's intra-op thread count now."""
    import torch

    return torch.get_num_threads()


def set_seed(seed: int) -> None:
    """Seed ``random``, numpy and torch."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def demo_sizes(cfg: Config, tiny: bool) -> Config:
    """The config with the tiny model's completion budget when ``tiny`` (``tiny.max_response`` of the recipes).

    Args:
        cfg: the run configuration.
        tiny: the tiny toy model.

    Returns:
        ``cfg`` itself, or a copy whose ``optimization.max_response_length`` is at most the tiny budget.

    >>> from extensions.config import load_config
    >>> demo_sizes(load_config(), tiny=True).optimization.max_response_length
    64
    """
    if not tiny:
        return cfg
    cfg = cfg.model_copy(deep=True)
    budget = recipes().tiny.max_response
    cfg.optimization.max_response_length = min(cfg.optimization.max_response_length, budget)
    return cfg


def prompt_style(cfg: Config, tiny: bool) -> str:
    """The prompt style of the run: ``compact`` for the tiny model, ``compact_sql`` for SmolLM2, else the config's.

    Args:
        cfg: the run configuration.
        tiny: the tiny toy model.

    Returns:
        A style of :data:`extensions.training.data.STYLES`.
    """
    if tiny:
        return "compact"
    return "compact_sql" if is_smollm2(cfg.optimization.model_name) else cfg.data.prompt_style


def load(cfg: Config, opts: RunOptions, engine: Any, base_dir: str | None = None) -> Policy:
    """Load the model and read the rows (no training yet).

    Args:
        cfg: the run configuration.
        opts: the run options.
        engine: the execution engine used to check the gold queries.
        base_dir: saved tiny-model weights to load (default: ``out_dir/base`` when resuming).

    Returns:
        The untrained :class:`Policy`.
    """
    import torch

    set_seed(opts.seed)
    if base_dir is None and opts.resume:
        base_dir = os.path.join(opts.out_dir, "base")
    model, tok, tiny = load_policy(
        cfg, demo=opts.demo, gpu=torch.cuda.is_available(), seed=opts.seed, base_dir=base_dir
    )
    # A 0.5M-parameter model gains nothing from more threads (the reward workers use the rest); a real one uses
    # the cores idle at the start (extensions.training.threads).
    apply_threads(1 if tiny else opts.threads or plan_threads(None).threads)
    style = prompt_style(cfg, tiny)
    train, held = training_rows(cfg, opts.data, style, engine)
    check_prompt_lengths(tok, train + held, cfg.optimization.max_prompt_length)
    return Policy(model, tok, tiny, train, spread(held, opts.heldout_limit), style)


def check_prompt_lengths(tok: Any, rows: list[dict], limit: int) -> None:
    """Stop the run when a prompt is longer than ``optimization.max_prompt_length`` tokens.

    TRL does not truncate prompts, so an over-long prompt would silently cost memory and time; a config that
    cannot hold its data is a config mistake.

    Args:
        tok: the tokenizer (with a chat template).
        rows: training and held-out rows.
        limit: ``optimization.max_prompt_length``.

    Raises:
        ConfigError: at least one prompt is longer; the message names how many and the longest.
    """
    from extensions.errors import ConfigError

    if not getattr(tok, "chat_template", None):
        return
    texts = [tok.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True) for r in rows]
    lengths = [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]] if texts else []
    over = [n for n in lengths if n > limit]
    if over:
        raise ConfigError(
            f"optimization.max_prompt_length={limit}: {len(over)} of {len(rows)} prompts are longer "
            f"(longest {max(over)} tokens); raise it to at least {max(over)}"
        )


def spread(rows: list[dict], limit: int | None) -> list[dict]:
    """At most ``limit`` rows, evenly spaced over ``rows`` (all of them when ``limit`` is None or larger).

    Args:
        rows: the held-out rows, in their fixed order.
        limit: how many to keep.

    Returns:
        The kept rows, in order.

    >>> spread(list(range(10)), 3)
    [0, 3, 6]
    """
    if not limit or limit >= len(rows):
        return rows
    return [rows[i * len(rows) // limit] for i in range(limit)]


def warm_up(cfg: Config, policy: Policy, opts: RunOptions) -> Policy:
    """The SFT warm-up (LoRA unless tiny) on the training rows; the tiny base is saved to ``out_dir/base``.

    Args:
        cfg: the run configuration (LoRA; the learning rate and batch follow the SFT rule of
            ``configs/recipes.yaml``, :meth:`~extensions.training.recipes.Recipes.sft_rule`).
        policy: the loaded policy.
        opts: the run options (``sft_warmup`` steps, seed, output folder).

    Returns:
        The policy with the warmed-up model (a PEFT model when LoRA is on and the model is not tiny).
    """
    from extensions.training.data import answer_for
    from extensions.training.sft import sft_warmup

    model = policy.model
    if opts.sft_warmup and not opts.resume:
        if cfg.optimization.lora.enabled and not policy.tiny:
            from peft import get_peft_model

            model = get_peft_model(model, lora_config(cfg))
        rule = recipes().sft_rule(policy.tiny)
        on_cpu = next(model.parameters()).device.type == "cpu"
        losses = sft_warmup(
            model,
            policy.tok,
            policy.train_rows,
            opts.sft_warmup,
            lr=rule.learning_rate(cfg),
            batch=rule.batch,
            out_dir=opts.out_dir,
            seed=opts.seed,
            answer=answer_for(policy.style),
            micro_batch=rule.cpu_micro_batch if on_cpu else None,
        )
        print(f"[sft] loss {losses[0]:.3f} -> {losses[-1]:.3f} over {len(losses)} steps", file=sys.stderr)
    if policy.tiny and not opts.resume:
        # The tiny model's own weights are the base the LoRA adapter applies to: keep them for reloads and --resume.
        base = os.path.join(opts.out_dir, "base")
        with quiet_transformers():
            model.save_pretrained(base)
            policy.tok.save_pretrained(base)
    return dataclasses.replace(policy, model=model)


def clone(policy: Policy) -> Policy:
    """An independent copy of the policy's weights (same rows and tokenizer), for arms that start equal."""
    return dataclasses.replace(policy, model=copy.deepcopy(policy.model))


def train_grpo(cfg: Config, policy: Policy, opts: RunOptions, computer: Any) -> Any:
    """Run GRPO on ``policy`` with ``computer``'s reward; returns the trainer (its model is the trained policy).

    Args:
        cfg: the run configuration.
        policy: the prepared policy.
        opts: the run options.
        computer: the training reward (``RewardComputer``).

    Returns:
        The ``GRPOTrainer`` after ``train()``.
    """
    from datasets import Dataset
    from trl import GRPOTrainer

    from extensions.integrations.trl import make_reward_funcs
    from extensions.training.grpo_config import grpo_config

    funcs, weights = make_reward_funcs(computer)
    peft_cfg = lora_config(cfg) if cfg.optimization.lora.enabled and not hasattr(policy.model, "peft_config") else None
    trainer = GRPOTrainer(
        model=policy.model,
        reward_funcs=funcs,
        args=grpo_config(
            cfg, out_dir=opts.out_dir, steps=opts.num_steps, seed=opts.seed, weights=weights, tiny=policy.tiny
        ),
        train_dataset=Dataset.from_list(policy.train_rows).shuffle(seed=opts.seed),
        processing_class=policy.tok,
        peft_config=peft_cfg,
        callbacks=[MetricsCallback(opts.out_dir, cfg.logging.keep_best_k, bool(opts.resume)), *opts.extra_callbacks],
    )
    quiet_console(trainer, opts.progress)
    use_own_model_card(trainer, cfg.optimization.model_name, lora=hasattr(trainer.model, "peft_config"))
    resume: bool | str | None = None
    if opts.resume:
        resume = True if opts.resume == "latest" else opts.resume
    trainer.train(resume_from_checkpoint=resume)
    return trainer


Phase = tuple[dict[str, float], dict[str, list[int]]]
PHASES = ("before", "after_sft", "after")


def _heldout(cfg: Config, policy: Policy, model: Any, measure: Any, phase: str) -> Phase | None:
    if not policy.heldout_rows:
        return None
    res = evaluate_heldout(
        model,
        policy.tok,
        policy.heldout_rows,
        measure,
        cfg.optimization.max_response_length,
        desc=f"held-out ({phase})",
    )
    print(f"[held-out] {phase}: {_brief(res[0])} (n={len(policy.heldout_rows)}, {DECODING})", file=sys.stderr)
    return res


def _brief(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())


def unseen_skeleton_exec_match(rows: list[dict], per: dict[str, list[int] | None]) -> dict[str, Any] | None:
    """Exec match on the held-out prompts whose SQL skeleton no training prompt has, per phase.

    Args:
        rows: the held-out rows, in the order of the per-prompt outcomes (with ``skeleton_seen``).
        per: per-prompt 0/1 exec match of each phase (None for a phase that did not run).

    Returns:
        ``{"n", "before", "after_sft", "after"}`` (a phase's share, or None), or None when the rows do not say
        whether their skeleton was seen.

    >>> rows = [{"skeleton_seen": True}, {"skeleton_seen": False}, {"skeleton_seen": False}]
    >>> unseen_skeleton_exec_match(rows, {"before": None, "after_sft": [1, 0, 1], "after": [1, 1, 1]})
    {'n': 2, 'before': None, 'after_sft': 0.5, 'after': 1.0}
    """
    if not rows or any("skeleton_seen" not in r for r in rows):
        return None
    unseen = [i for i, r in enumerate(rows) if not r["skeleton_seen"]]
    out: dict[str, Any] = {"n": len(unseen)}
    for phase in PHASES:
        outcomes = per.get(phase)
        out[phase] = round(sum(outcomes[i] for i in unseen) / len(unseen), 4) if outcomes and unseen else None
    return out


def write_eval(
    path: str,
    model: str,
    phases: dict[str, Phase | None],
    rows: list[dict] | None = None,
    resources: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``eval.json``; returns it.

    Args:
        path: the file to write.
        model: the model's name.
        phases: held-out ``(metrics, per_prompt)`` for ``before`` (no training), ``after_sft`` and ``after``
            (GRPO); a phase that did not run (a resumed run, no warm-up) is None. ``after`` is required.
        rows: the held-out rows in outcome order (for ``unseen_skeleton``), if known.
        resources: what the run cost (:meth:`extensions.training.resources.Meter.read`), if measured.

    Returns:
        ``{"model", "before", "after_sft", "after", "n", "decoding", "per_prompt_exec_match", ...}`` with
        ``exec_match_gain`` (before → after) and ``grpo_gain`` (after_sft → after): paired bootstrap 95%
        intervals over the held-out prompts, where both phases ran; ``unseen_skeleton`` (exec match on the
        held-out prompts whose skeleton no training prompt has) and ``resources`` when given.

    Example:
        >>> write_eval("/tmp/eval.json", "tiny", {"after": ({"exec_match": 1.0}, {"exec_match": [1]})})["n"]
        1
    """
    from extensions.training.stats import BOOTSTRAP_PROMPTS, bootstrap_diff

    after = phases["after"]
    assert after is not None
    per = {k: (v[1]["exec_match"] if v else None) for k, v in ((p, phases.get(p)) for p in PHASES)}
    metrics = {p: (phases[p][0] if phases.get(p) else None) for p in PHASES}
    doc: dict[str, Any] = {"model": model, **metrics, "n": len(after[1]["exec_match"]), "decoding": DECODING}
    for key, start in (("exec_match_gain", "before"), ("grpo_gain", "after_sft")):
        if per[start] is not None:
            gain = bootstrap_diff(per["after"], per[start])
            doc[key] = {"from": start, "to": "after", **gain, "method": BOOTSTRAP_PROMPTS}
    unseen = unseen_skeleton_exec_match(rows or [], per)
    if unseen is not None:
        doc["unseen_skeleton"] = unseen
    doc["per_prompt_exec_match"] = per
    if resources is not None:
        doc["resources"] = resources
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=1)
    return doc


def run(cfg: Config, opts: RunOptions) -> dict[str, Any]:
    """The whole run: load, held-out before, SFT, held-out after SFT, GRPO, held-out after, save, plot.

    Args:
        cfg: the run configuration.
        opts: the run options.

    Returns:
        Paths of the outputs, the held-out metrics and CPU/wall seconds of the whole run and of GRPO.
    """
    import time

    from extensions.rewards.combine import RewardComputer
    from extensions.training.plots import plot_run

    t_start, c_start = time.perf_counter(), time.process_time()
    meter = Meter(busy_cores=opts.busy_cores)
    computer = RewardComputer(cfg)
    policy = load(cfg, opts, computer.engine)
    cfg = demo_sizes(cfg, policy.tiny)
    measure = measuring_computer(computer.engine)
    evaluate = opts.evaluate and not opts.resume
    phases: dict[str, Phase | None] = {
        "before": _heldout(cfg, policy, policy.model, measure, "before") if evaluate else None
    }
    policy = warm_up(cfg, policy, opts)
    if evaluate and opts.sft_warmup:
        phases["after_sft"] = _heldout(cfg, policy, policy.model, measure, "after_sft")
    t0, c0 = time.perf_counter(), time.process_time()
    trainer = train_grpo(cfg, policy, opts, computer)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    phases["after"] = _heldout(cfg, policy, trainer.model, measure, "after") if opts.evaluate else None
    final = os.path.join(opts.out_dir, "final")
    with quiet_transformers():
        trainer.save_model(final)
        policy.tok.save_pretrained(final)
    eval_path = os.path.join(opts.out_dir, "eval.json") if phases["after"] else None
    if eval_path:
        resources = {**meter.read(), "threads": torch_threads()}
        write_eval(eval_path, cfg.optimization.model_name, phases, policy.heldout_rows, resources)
    metrics = os.path.join(opts.out_dir, "metrics.jsonl")
    png = os.path.join(opts.out_dir, "reward_curves.png")
    plot = plot_run(metrics, png, eval_path) if os.path.exists(metrics) else None
    brief = {k: (v[0] if v else None) for k, v in phases.items()}
    return {
        "final": final,
        "metrics": metrics,
        "plot": plot,
        "eval": eval_path,
        **brief,
        "tiny_model": policy.tiny,
        "grpo_seconds": round(seconds, 1),
        "grpo_cpu_seconds": round(cpu, 1),
        "total_seconds": round(time.perf_counter() - t_start, 1),
        "total_cpu_seconds": round(time.process_time() - c_start, 1),
    }
