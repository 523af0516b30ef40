"""Supervised fine-tuning over pre-encoded examples: the one SFT loop of single-turn and multi-turn training.

An example is ``(input_ids, labels)``, with ``-100`` on every token the loss leaves out (the prompt, tool
answers). :func:`train_sft` samples batches of them, pads them on the left and computes logits only from the
first labelled position on. :func:`sft_warmup` encodes gold SQL answers and calls it; the tool-transcript
warm-up (:mod:`extensions.training.tool_sft`) encodes transcripts and calls it too.

>>> collate_labels([([5, 6, 7], [-100, -100, 7]), ([6, 7, 8, 9], [-100, 7, 8, 9])])
[[-100, -100, 7], [7, 8, 9]]
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from typing import Any

from extensions.training.data import gold_completion

Encoded = tuple[list[int], list[int]]  # (input_ids, labels): labels -100 outside the learned tokens


def encode_answer(tok: Any, row: dict, answer: Callable[[str], str]) -> Encoded:
    """A training row as the prompt (chat template, generation prompt) followed by its gold answer and EOS.

    Args:
        tok: the tokenizer (with a chat template).
        row: ``{"prompt": messages, "ground_truth": {"sql"}}``.
        answer: the gold completion text of a gold SQL.

    Returns:
        ``(input_ids, labels)``; the labels cover the answer and EOS only.
    """
    prompt = tok.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
    p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    t_ids = tok(answer(row["ground_truth"]["sql"]) + (tok.eos_token or ""), add_special_tokens=False)["input_ids"]
    return p_ids + t_ids, [-100] * len(p_ids) + t_ids


def collate_labels(items: list[Encoded]) -> list[list[int]]:
    """The labels of a left-padded batch, cut to the positions from the batch's first labelled token on.

    A sequence's first token has no prediction, so it is never labelled.

    Args:
        items: encoded examples.

    Returns:
        One row per example, all of the same length: ``-100`` before a row's labelled tokens.

    >>> collate_labels([([1, 2], [1, 2])])
    [[2]]
    """
    rows = [[-100] + list(labels[1:]) for _, labels in items]
    n = max(len(r) for r in rows)
    padded = [[-100] * (n - len(r)) + r for r in rows]
    first = min((next((i for i, t in enumerate(r) if t != -100), n) for r in padded), default=n)
    return [r[min(first, n - 1) :] for r in padded]


def collate(items: list[Encoded], pad_id: int, device: Any) -> dict[str, Any]:
    """A left-padded batch: every example ends at the last position, so only the labelled tail needs logits.

    Args:
        items: encoded examples.
        pad_id: the tokenizer's pad token id.
        device: the model's device.

    Returns:
        ``{"input_ids", "attention_mask", "position_ids", "labels"}``; ``labels`` covers the last positions
        (:func:`collate_labels`).
    """
    import torch

    n = max(len(ids) for ids, _ in items)
    ids = torch.tensor([[pad_id] * (n - len(i)) + list(i) for i, _ in items], device=device)
    att = torch.tensor([[0] * (n - len(i)) + [1] * len(i) for i, _ in items], device=device)
    lab = torch.tensor(collate_labels(items), device=device)
    return {"input_ids": ids, "attention_mask": att, "position_ids": (att.cumsum(-1) - 1).clamp(min=0), "labels": lab}


def answer_loss(model: Any, batch: dict[str, Any], reduction: str = "mean") -> Any:
    """Cross-entropy over the labelled tokens, computing logits for the labelled tail only.

    Args:
        model: the causal LM.
        batch: :func:`collate`'s output.
        reduction: ``mean`` over the labelled tokens, or their ``sum``.

    Returns:
        The scalar loss tensor.
    """
    import torch

    labels = batch["labels"]
    keep = labels.shape[1] + 1
    out = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        position_ids=batch["position_ids"],
        logits_to_keep=keep,
    )
    logits = out.logits[:, -keep:-1].float()
    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100, reduction=reduction
    )


def backward_in_parts(model: Any, batches: list[dict[str, Any]]) -> float:
    """Backpropagate the mean loss of several batches as if they were one, one batch at a time.

    Each part's summed token loss is divided by the labelled tokens of all parts, so the gradient is that of the
    token mean over the whole batch, while only one part's activations are held at a time.

    Args:
        model: the causal LM.
        batches: :func:`collate` outputs (parts of one optimizer step's examples).

    Returns:
        The mean loss over all parts.
    """
    tokens = sum(int((b["labels"] != -100).sum()) for b in batches)
    total = 0.0
    for b in batches:
        part = answer_loss(model, b, reduction="sum") / max(1, tokens)
        part.backward()
        total += float(part.detach())
    return total


def step_loss(model: Any, items: list[Encoded], pad_id: int, micro_batch: int | None = None) -> float:
    """Backpropagate one optimizer step's token-mean loss over ``items``; returns the loss.

    Args:
        model: the causal LM.
        items: the step's encoded examples.
        pad_id: the tokenizer's pad token id.
        micro_batch: examples per forward pass (the same loss and gradient, less memory); None: all at once.

    Returns:
        The step's mean loss over its labelled tokens.
    """
    device = next(model.parameters()).device
    if micro_batch and micro_batch < len(items):
        parts = [items[i : i + micro_batch] for i in range(0, len(items), micro_batch)]
        return backward_in_parts(model, [collate(p, pad_id, device) for p in parts])
    loss = answer_loss(model, collate(items, pad_id, device))
    loss.backward()
    return float(loss.detach())


def train_sft(
    model: Any,
    encoded: list[Encoded],
    steps: int,
    *,
    lr: float,
    batch: int,
    pad_id: int,
    out_dir: str,
    seed: int,
    micro_batch: int | None = None,
    desc: str = "sft warm-up",
) -> list[float]:
    """The SFT loop: ``steps`` AdamW steps on batches sampled from ``encoded``; writes ``sft_metrics.jsonl``.

    Args:
        model: the causal LM (trainable parameters are updated in place).
        encoded: ``(input_ids, labels)`` examples.
        steps: optimizer steps.
        lr: AdamW learning rate (linearly decayed to zero); gradients are clipped to norm 1.
        batch: examples per step.
        pad_id: the tokenizer's pad token id.
        out_dir: where ``sft_metrics.jsonl`` goes.
        seed: sampling seed for the batches.
        micro_batch: examples per forward pass (the step's loss and gradient are the same; less memory); None: all.
        desc: the progress bar's label.

    Returns:
        The loss of every step.
    """
    import torch
    from tqdm import tqdm

    rng = random.Random(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - s / max(1, steps))
    model.train()
    losses: list[float] = []
    with (
        open(os.path.join(out_dir, "sft_metrics.jsonl"), "w") as log,
        tqdm(range(steps), desc=desc, dynamic_ncols=True) as bar,
    ):
        for step in bar:
            items = rng.sample(encoded, min(batch, len(encoded)))
            losses.append(step_loss(model, items, pad_id, micro_batch))
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
            log.write(json.dumps({"step": step + 1, "loss": losses[-1]}) + "\n")
    return losses


def sft_warmup(
    model: Any,
    tok: Any,
    rows: list[dict],
    steps: int,
    *,
    lr: float,
    batch: int,
    out_dir: str,
    seed: int,
    answer: Callable[[str], str] = gold_completion,
    micro_batch: int | None = None,
) -> list[float]:
    """Fine-tune on gold completions (:func:`encode_answer`) with :func:`train_sft`.

    Args:
        model: the causal LM (trainable parameters are updated in place).
        tok: its tokenizer.
        rows: training rows ``{"prompt", "ground_truth": {"sql"}}``.
        steps: optimizer steps.
        lr: AdamW learning rate (linearly decayed to zero).
        batch: rows per step.
        out_dir: where ``sft_metrics.jsonl`` goes.
        seed: sampling seed for the batches.
        answer: the gold completion text of a gold SQL (the loss covers it and the EOS token only).
        micro_batch: rows per forward pass (the step's loss and gradient are the same; less memory); None: all.

    Returns:
        The loss of every step.
    """
    encoded = [encode_answer(tok, r, answer) for r in rows]
    return train_sft(
        model,
        encoded,
        steps,
        lr=lr,
        batch=batch,
        pad_id=tok.pad_token_id,
        out_dir=out_dir,
        seed=seed,
        micro_batch=micro_batch,
    )
