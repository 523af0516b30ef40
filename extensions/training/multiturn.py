"""Multi-turn GRPO (``train_colab.py --multi-turn``): the model calls ``execute_sql`` during its rollouts.

TRL's ``GRPOTrainer`` runs with ``environment_factory`` (:mod:`extensions.integrations.trl_env`): one
environment per rollout on the sample's database, with the ``multi_turn.max_calls`` budget. The tokenizer
gets TRL's Qwen2.5 chat template (ChatML with ``<tool_call>{json}</tool_call>``), which SmolLM2 and the tiny
model speak; a warm-up on tool-using transcripts (:mod:`extensions.training.tool_sft`) teaches the format.

Outputs in ``out_dir``: ``metrics.jsonl`` (``rewards/tool_calls/mean``, ``rewards/tool_errors/mean``,
``rewards/sql_reward/mean``, TRL's ``tools/call_frequency``, ...), ``episodes.jsonl`` (the first episodes
of every scored batch: messages and breakdown), ``sft_metrics.jsonl``, ``summary.json``.

>>> mt_rows([{"prompt": [{"role": "user", "content": "Q"}]}], 2)[0]["prompt"][0]["role"]
'system'
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from extensions.config import Config
from extensions.execution.engine import ExecutionEngine
from extensions.training.recipes import recipes
from extensions.training.runner import RunOptions

TOKENIZER_TRANSCRIPTS = 128  # rendered transcripts added to the tiny tokenizer's corpus
EPISODES_PER_BATCH = 2


def mt_rows(rows: list[dict], max_calls: int) -> list[dict]:
    """Rows whose prompts name the tool and its budget.

    Args:
        rows: single-turn rows (``prompt``, ``ground_truth``).
        max_calls: the call budget.

    Returns:
        New rows.
    """
    from extensions.tool.prompt import multi_turn_prompt

    return [{**r, "prompt": multi_turn_prompt(r["prompt"], max_calls=max_calls)} for r in rows]


def use_tool_template(tok: Any) -> Any:
    """Give ``tok`` TRL's Qwen2.5 chat template (tools, ``<tool_call>``) and a pad token; returns it."""
    from trl.chat_template_utils import qwen2_5_chat_template

    tok.chat_template = qwen2_5_chat_template
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


class EpisodeLog:
    """Writes the first episodes of every scored batch to ``episodes.jsonl`` (the ``on_batch`` hook)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.batch = 0
        open(path, "w").close()

    def __call__(self, prompts: Any, completions: Any, breakdowns: list[dict[str, float]]) -> None:
        self.batch += 1
        with open(self.path, "a") as fh:
            for p, c, b in list(zip(prompts or [], completions, breakdowns))[:EPISODES_PER_BATCH]:
                keep = {k: b[k] for k in ("score", "acc", "tool_calls", "tool_errors") if k in b}
                fh.write(
                    json.dumps({"batch": self.batch, "prompt": p, "completion": c, "breakdown": keep}, default=str)
                    + "\n"
                )


def tiny_sizes(cfg: Config) -> Config:
    """The config with the tiny model's short tool answers (``multi_turn_tiny`` of ``configs/recipes.yaml``).

    Args:
        cfg: the run configuration.

    Returns:
        A copy whose ``multi_turn.max_rows`` and ``max_chars`` are at most the recipe's.

    >>> from extensions.config import load_config
    >>> tiny_sizes(load_config()).multi_turn.max_rows
    3
    """
    sizes = recipes().multi_turn_tiny
    cfg = cfg.model_copy(deep=True)
    cfg.multi_turn.max_rows = min(cfg.multi_turn.max_rows, sizes.tool_rows)
    cfg.multi_turn.max_chars = min(cfg.multi_turn.max_chars, sizes.tool_chars)
    return cfg


def multi_turn_rows(cfg: Config, data: str | None, tiny: bool, engine: ExecutionEngine) -> list[dict]:
    """The training rows of a multi-turn run: read and checked as single-turn rows are, then given the tool prompt.

    Args:
        cfg: the run configuration (``data.*``, ``multi_turn.max_calls``).
        data: ``--data`` (None: the bundled demo rows).
        tiny: the tiny toy model (``compact`` prompts; else ``data.prompt_style``).
        engine: the sandbox that runs the golds (:func:`extensions.training.data.training_rows`).

    Returns:
        The checked training rows with multi-turn prompts.
    """
    from extensions.training.data import training_rows

    train, _ = training_rows(cfg, data, "compact" if tiny else cfg.data.prompt_style, engine)
    return mt_rows(train, cfg.multi_turn.max_calls)


def tiny_tool_policy(rows: list[dict], cfg: Config, engine: Any, seed: int) -> tuple[Any, Any]:
    """A tiny model whose tokenizer also learned the rendered tool transcripts (the tools block, the call format).

    Args:
        rows: multi-turn training rows.
        cfg: the run configuration (tool limits).
        engine: the execution engine.
        seed: the model's initial weights.

    Returns:
        ``(model, tokenizer)``, the tokenizer with the tool chat template.
    """
    from extensions.integrations.trl_env import SqlEnvironment
    from extensions.training.tiny import build_tiny_model, build_tokenizer
    from extensions.training.tool_sft import transcripts

    render = use_tool_template(build_tokenizer())
    tools = [SqlEnvironment().execute_sql]
    texts = tuple(
        render.apply_chat_template(t, tools=tools, tokenize=False)
        for t in transcripts(rows[:TOKENIZER_TRANSCRIPTS], cfg.multi_turn.tool_limits(), engine)
    )
    tok = use_tool_template(build_tokenizer(extra=texts))
    return build_tiny_model(tok, seed=seed), tok


def _policy(cfg: Config, opts: RunOptions, engine: Any) -> tuple[Any, Any, bool, list[dict], Config]:
    """The model and tokenizer (tool template), the multi-turn rows and the config, after the transcript warm-up."""
    import torch

    from extensions.training.model import load_policy
    from extensions.training.runner import set_seed
    from extensions.training.tool_sft import tool_sft

    set_seed(opts.seed)
    model, tok, tiny = load_policy(cfg, demo=opts.demo, gpu=torch.cuda.is_available(), seed=opts.seed)
    rows = multi_turn_rows(cfg, opts.data, tiny, engine)
    if tiny:
        torch.set_num_threads(1)
        cfg = tiny_sizes(cfg)
        model, tok = tiny_tool_policy(rows, cfg, engine, opts.seed)
    tok = use_tool_template(tok)
    if opts.sft_warmup:
        rule = recipes().sft_rule(tiny, tools=True)
        on_cpu = next(model.parameters()).device.type == "cpu"
        losses = tool_sft(
            model,
            tok,
            rows,
            opts.sft_warmup,
            limits=cfg.multi_turn.tool_limits(),
            engine=engine,
            lr=rule.learning_rate(cfg),
            batch=rule.batch,
            out_dir=opts.out_dir,
            seed=opts.seed,
            micro_batch=rule.cpu_micro_batch if on_cpu else None,
        )
        print(
            f"[sft] tool transcripts: loss {losses[0]:.3f} -> {losses[-1]:.3f} over {len(losses)} steps",
            file=sys.stderr,
        )
    return model, tok, tiny, rows, cfg


def _summary(out_dir: str) -> dict[str, Any]:
    """Per-step tool use and reward from ``metrics.jsonl``."""
    steps = []
    path = os.path.join(out_dir, "metrics.jsonl")
    if os.path.exists(path):
        with open(path) as fh:
            steps = [json.loads(line) for line in fh if line.strip()]
    keys = ("rewards/sql_reward/mean", "rewards/tool_calls/mean", "rewards/tool_errors/mean", "tools/call_frequency")
    per_step = [{k: s.get(k) for k in ("step", *keys)} for s in steps]
    calls = [s["rewards/tool_calls/mean"] for s in steps if s.get("rewards/tool_calls/mean") is not None]
    return {
        "steps": len(steps),
        "tool_calls_per_episode": sum(calls) / len(calls) if calls else 0.0,
        "per_step": per_step,
        "episodes": os.path.join(out_dir, "episodes.jsonl"),
    }


def run_multi_turn(cfg: Config, opts: RunOptions) -> dict[str, Any]:
    """Warm up on tool transcripts, then run multi-turn GRPO with the SQL tool; returns the summary.

    Args:
        cfg: the run configuration (``multi_turn.*`` bounds the tool and adds the optional terms).
        opts: the run options (``num_steps``, ``sft_warmup``, ``demo``, ``data``, ``out_dir``, ``seed``).

    Returns:
        ``{"steps", "tool_calls_per_episode", "per_step", "episodes"}`` (also written to ``summary.json``).
    """
    from datasets import Dataset
    from trl import GRPOTrainer

    from extensions.integrations.trl_env import (
        environment_factory,
        make_episode_reward_funcs,
    )
    from extensions.rewards.combine import RewardComputer
    from extensions.training.callbacks import MetricsCallback, quiet_console
    from extensions.training.grpo_config import grpo_config
    from extensions.training.model import lora_config

    computer = RewardComputer(cfg)
    model, tok, tiny, rows, cfg = _policy(cfg, opts, computer.engine)
    funcs, weights = make_episode_reward_funcs(
        computer, cfg.multi_turn, on_batch=EpisodeLog(os.path.join(opts.out_dir, "episodes.jsonl"))
    )
    max_completion = recipes().multi_turn_tiny.max_response if tiny else None
    peft_cfg = lora_config(cfg) if cfg.optimization.lora.enabled and not hasattr(model, "peft_config") else None
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=grpo_config(
            cfg,
            out_dir=opts.out_dir,
            steps=opts.num_steps,
            seed=opts.seed,
            weights=weights,
            tiny=tiny,
            max_completion=max_completion,
            tool_calls=cfg.multi_turn.max_calls,
            checkpoints=False,
        ),
        train_dataset=Dataset.from_list(rows).shuffle(seed=opts.seed),
        processing_class=tok,
        peft_config=peft_cfg,
        environment_factory=environment_factory(cfg.multi_turn.tool_limits(), computer.engine, cfg.data.db_root),
        callbacks=[MetricsCallback(opts.out_dir, cfg.logging.keep_best_k, False), *opts.extra_callbacks],
    )
    quiet_console(trainer, "multi-turn grpo")
    trainer.train()
    summary = _summary(opts.out_dir)
    with open(os.path.join(opts.out_dir, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=1)
    return summary
