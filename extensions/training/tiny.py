"""A tiny Qwen2-architecture model and a tokenizer trained on bundled text, fully offline.

Used by ``train_colab.py --demo --model tiny`` (a smoke test) and by the tests. Nothing is
fetched from a hub: the tokenizer is a byte-level BPE with single-digit number tokens, trained on the
demo corpus of the training split only (questions, gold SQL, schemas and answer templates), and the
model is built from a ``Qwen2Config``.

Requires the ``train`` extra (transformers, tokenizers, torch).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def corpus() -> list[str]:
    """Text the tokenizer is trained on: prompt templates, schemas, and the training split's questions and answers.

    The held-out split is left out, so no held-out text shapes the vocabulary (numbers are split into single
    digits by the pre-tokenizer, so every held-out number is still spelled with trained digit tokens).
    """
    from extensions.data.demo import SCHEMAS, demo_examples, slot_examples
    from extensions.data.templates import (
        COMPACT_SYSTEM,
        OMNISQL_USER,
        SQL_R1_SYSTEM,
        SQL_R1_USER,
        compact_schema,
    )
    from extensions.sql.schema import Schema
    from extensions.training.data import gold_completion, split_demo

    lines = [SQL_R1_SYSTEM, SQL_R1_USER, OMNISQL_USER, COMPACT_SYSTEM]
    lines += list(SCHEMAS.values())
    lines += [f"Schema: {compact_schema(Schema.from_create_table(s))}" for s in SCHEMAS.values()]
    train, _ = split_demo(demo_examples() + slot_examples())
    for e in train:
        lines.append(f"Question: {e['question']}")
        lines.append(gold_completion(e["query"]))
    return lines


def _cache_dir() -> str:
    base = os.environ.get("EXTENSIONS_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "extensions-sql")
    return os.path.join(base, "tiny")


def build_tokenizer(out_dir: str | None = None, vocab_size: int = 2048, extra: tuple[str, ...] = ()) -> Any:
    """Train (once, cached) and load the tiny tokenizer as a ``PreTrainedTokenizerFast``.

    ``extra``: more training text (the multi-turn demo adds its tool prompt and call format).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    text = corpus() + list(extra)
    key = hashlib.sha1(("\n".join(text) + str(vocab_size)).encode()).hexdigest()[:12]
    out_dir = out_dir or os.path.join(_cache_dir(), f"tokenizer-{key}")
    if not os.path.exists(os.path.join(out_dir, "tokenizer.json")):
        tok = Tokenizer(models.BPE(unk_token=None))
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
        )
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=SPECIAL,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(text, trainer=trainer)
        fast = PreTrainedTokenizerFast(
            tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None
        )
        fast.chat_template = CHAT_TEMPLATE
        os.makedirs(out_dir, exist_ok=True)
        fast.save_pretrained(out_dir)
    tok = PreTrainedTokenizerFast.from_pretrained(out_dir)
    if not tok.chat_template:
        tok.chat_template = CHAT_TEMPLATE
    return tok


def build_tiny_model(tokenizer: Any, *, hidden_size: int = 128, layers: int = 2, heads: int = 4, seed: int = 0) -> Any:
    """A randomly initialised ``Qwen2ForCausalLM`` sized for CPU demos (about 0.6M parameters).

    Args:
        tokenizer: the tokenizer of :func:`build_tokenizer` (vocabulary size, special tokens).
        hidden_size: model width.
        layers: decoder layers.
        heads: attention heads (half as many key/value heads).
        seed: initial weights.

    Returns:
        The model.
    """
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    cfg = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,  # None: the chat template adds no BOS, and TRL finds nothing to realign
    )
    return Qwen2ForCausalLM(cfg)
