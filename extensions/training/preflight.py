"""Checks of a configuration before a training run: fail fast, every problem listed at once.

>>> from extensions.config import load_config
>>> validate_config(load_config("configs/demo_cpu.yaml"))
[]
"""

from __future__ import annotations

from extensions.config import Config
from extensions.errors import ConfigError


def validate_config(cfg: Config, *, need_gpu: bool = False) -> list[str]:
    """Problems that would make a training run fail or waste time.

    Args:
        cfg: the run's configuration.
        need_gpu: also check that a GPU is there for 4-bit loading, bf16 and vLLM.

    Returns:
        One message per problem, naming the keys; empty when the configuration is fine.
    """
    problems = []
    o, g = cfg.optimization, cfg.grpo
    effective = o.batch_size * o.gradient_accumulation_steps
    if effective % g.num_generations != 0 and o.batch_size % g.num_generations != 0:
        problems.append(
            f"grpo.num_generations={g.num_generations} must divide the effective batch "
            f"(optimization.batch_size x gradient_accumulation_steps = {o.batch_size * o.gradient_accumulation_steps})"
        )
    if o.lora.enabled and not o.lora.target_modules:
        problems.append("optimization.lora.target_modules is empty while LoRA is enabled")
    if o.load_in_4bit and not o.lora.enabled:
        problems.append(
            "optimization.load_in_4bit needs LoRA (optimization.lora.enabled=true): "
            "4-bit weights cannot be trained directly"
        )
    if need_gpu:
        try:
            import torch

            has_cuda = torch.cuda.is_available()
        except ImportError:
            has_cuda = False
        if not has_cuda and (o.load_in_4bit or o.mixed_precision == "bf16" or g.use_vllm):
            problems.append(
                "a GPU is required for load_in_4bit / bf16 / vLLM, and none is available (use --demo or set them off)"
            )
    r = cfg.reward
    if r.enable_enhanced and r.syntax_weight == r.schema_weight == r.structural_weight == r.result_weight == 0:
        problems.append("reward.enable_enhanced is true but every shaping weight is 0")
    return problems


def check_config(cfg: Config, *, need_gpu: bool = False) -> None:
    """Raise :class:`ConfigError` listing every problem found by :func:`validate_config`.

    Args:
        cfg: the run's configuration.
        need_gpu: as in :func:`validate_config`.

    Raises:
        extensions.errors.ConfigError: at least one problem was found.
    """
    problems = validate_config(cfg, need_gpu=need_gpu)
    if problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(problems))
