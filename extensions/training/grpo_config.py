"""TRL's ``GRPOConfig`` from our run configuration: one builder for single-turn and multi-turn GRPO.

A multi-turn run passes its differences as arguments (tokens per episode, the tool-call budget, no checkpoints).

>>> from extensions.config import load_config
>>> grpo_batches(load_config("configs/demo_cpu.yaml"), tiny=True, gpu=False)
(16, 1)
"""

from __future__ import annotations

import os
import sys
from typing import Any

from extensions.config import Config


def grpo_batches(cfg: Config, tiny: bool, gpu: bool) -> tuple[int, int]:
    """``(per_device_train_batch_size, gradient_accumulation_steps)`` of TRL for one optimizer step.

    Every step sees ``batch_size`` prompts x ``num_generations`` completions x ``gradient_accumulation_steps``.
    On a CPU with a real model the loss runs one prompt's group at a time (accumulated over the prompts): the
    same completions, advantages and token-normalised loss, with a quarter of the activation memory at 4
    prompts. The tiny model and GPUs run the whole batch at once.

    Args:
        cfg: the run configuration.
        tiny: the tiny toy model.
        gpu: CUDA is available.

    Returns:
        Completions per micro-batch and micro-batches per optimizer step.

    >>> from extensions.config import load_config
    >>> grpo_batches(load_config("configs/demo_cpu.yaml"), tiny=False, gpu=False)
    (4, 4)
    """
    o, g = cfg.optimization, cfg.grpo
    if tiny:
        return o.batch_size * g.num_generations, 1
    if gpu:
        return o.batch_size * g.num_generations, o.gradient_accumulation_steps
    return g.num_generations, o.batch_size * o.gradient_accumulation_steps


def report_to(cfg: Config) -> list[str]:
    """Where TRL reports: ``["wandb"]`` when ``logging.wandb.enabled`` and wandb is installed, else nothing.

    Args:
        cfg: the run configuration; W&B's mode, project and entity go to the environment unless set there.

    Returns:
        TRL's ``report_to`` list.

    >>> from extensions.config import load_config
    >>> report_to(load_config())
    []
    """
    w = cfg.logging.wandb
    if not w.enabled:
        return []
    try:
        import wandb  # noqa: F401
    except ImportError:
        print("warning: wandb is not installed; continuing without W&B logging", file=sys.stderr)
        return []
    os.environ.setdefault("WANDB_MODE", w.mode)
    os.environ.setdefault("WANDB_PROJECT", w.project)
    if w.entity:
        os.environ.setdefault("WANDB_ENTITY", w.entity)
    return ["wandb"]


def grpo_config(
    cfg: Config,
    *,
    out_dir: str,
    steps: int,
    seed: int,
    weights: list[float],
    tiny: bool,
    max_completion: int | None = None,
    tool_calls: int | None = None,
    checkpoints: bool = True,
) -> Any:
    """TRL ``GRPOConfig`` of one run, single-turn or multi-turn.

    Args:
        cfg: the run configuration.
        out_dir: the output folder.
        steps: GRPO optimizer steps.
        seed: the trainer's seed (sampling and data order).
        weights: the reward weights of the reward functions.
        tiny: the tiny CPU model (no accumulation, no learning-rate warm-up).
        max_completion: tokens per completion (a multi-turn episode, tool answers included); None:
            ``optimization.max_response_length``.
        tool_calls: the tool-call budget of a multi-turn episode (generated with transformers, not vLLM); None:
            single-turn.
        checkpoints: save ``checkpoint-<step>`` folders every ``logging.save_every`` steps.

    Returns:
        ``trl.GRPOConfig``.

    >>> from extensions.config import load_config
    >>> cfg = load_config("configs/demo_cpu.yaml")
    >>> args = grpo_config(cfg, out_dir="o", steps=2, seed=0, weights=[1.0], tiny=True, tool_calls=3)
    >>> args.max_tool_calling_iterations, args.max_completion_length
    (3, 64)
    """
    import torch
    from trl import GRPOConfig

    gpu = torch.cuda.is_available()
    multi_turn = {"max_tool_calling_iterations": tool_calls} if tool_calls is not None else {}
    completion = cfg.optimization.max_response_length if max_completion is None else max_completion
    return GRPOConfig(
        output_dir=out_dir,
        max_steps=steps,
        seed=seed,
        **_optimizer(cfg, steps, tiny, gpu),
        **_sampling(cfg, gpu, vllm=tool_calls is None),
        max_completion_length=completion,
        reward_weights=weights,
        logging_steps=cfg.logging.log_every,
        save_strategy="steps" if checkpoints else "no",
        save_steps=min(cfg.logging.save_every, max(1, steps)),
        report_to=report_to(cfg),
        remove_unused_columns=False,
        dataloader_num_workers=0,
        disable_tqdm=True,
        **multi_turn,
    )


def _optimizer(cfg: Config, steps: int, tiny: bool, gpu: bool) -> dict[str, Any]:
    """GRPOConfig's batches, optimizer and precision settings of a run."""
    o = cfg.optimization
    per_device, accumulate = grpo_batches(cfg, tiny, gpu)
    return {
        "per_device_train_batch_size": per_device,
        "gradient_accumulation_steps": accumulate,
        "learning_rate": o.learning_rate,
        "weight_decay": o.weight_decay,
        "warmup_steps": 0 if tiny else max(0, int(o.warmup_ratio * steps)),
        "max_grad_norm": o.max_grad_norm,
        "gradient_checkpointing": o.gradient_checkpointing and gpu,
        # On CPU a LoRA run's bf16 is its base weights (training.model.cpu_precision); without LoRA, autocast.
        "bf16": o.mixed_precision == "bf16" and (gpu or not o.lora.enabled),
        "fp16": gpu and o.mixed_precision == "fp16",
        "use_cpu": not gpu,
    }


def _sampling(cfg: Config, gpu: bool, vllm: bool) -> dict[str, Any]:
    """GRPOConfig's group size, sampling, loss terms and generation engine (vLLM only on a GPU, when allowed)."""
    g = cfg.grpo
    return {
        "num_generations": g.num_generations,
        "temperature": g.temperature,
        "top_p": g.top_p,
        "beta": g.beta,
        "epsilon": g.epsilon,
        "use_vllm": g.use_vllm and gpu and vllm,
        "vllm_mode": "colocate",
        "vllm_gpu_memory_utilization": g.vllm_gpu_memory_utilization,
    }
