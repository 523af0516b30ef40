"""Supervised warm-up on gold SQL before GRPO (prompt tokens masked out of the loss)."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from typing import Any

from extensions.training.data import gold_completion


def _batch(tok: Any, items: list[dict], device: Any, answer: Callable[[str], str]) -> dict[str, Any]:
    """A left-padded batch: every row's answer ends at the last position, so only the answer's logits are needed.

    Returns:
        ``{"input_ids", "attention_mask", "position_ids", "labels"}``; ``labels`` covers the last
        ``answer_len`` positions (-100 on prompt and padding tokens).
    """
    import torch

    seqs, answers = [], []
    for r in items:
        p_ids = tok(
            tok.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True), add_special_tokens=False
        )["input_ids"]
        t_ids = tok(answer(r["ground_truth"]["sql"]) + (tok.eos_token or ""), add_special_tokens=False)["input_ids"]
        seqs.append(p_ids + t_ids)
        answers.append(len(t_ids))
    n, a = max(map(len, seqs)), max(answers)
    ids = torch.tensor([[tok.pad_token_id] * (n - len(s)) + s for s in seqs], device=device)
    att = torch.tensor([[0] * (n - len(s)) + [1] * len(s) for s in seqs], device=device)
    lab = torch.tensor([[-100] * (a - k) + s[-k:] for s, k in zip(seqs, answers)], device=device)
    return {"input_ids": ids, "attention_mask": att, "position_ids": (att.cumsum(-1) - 1).clamp(min=0), "labels": lab}


def answer_loss(model: Any, batch: dict[str, Any], reduction: str = "mean") -> Any:
    """Cross-entropy over the answer tokens, computing logits for the answer positions only.

    Args:
        model: the causal LM.
        batch: :func:`_batch`'s output.
        reduction: ``mean`` over the answer tokens, or their ``sum``.

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
    """Backpropagate the mean answer loss of several batches as if they were one, one batch at a time.

    Each part's summed token loss is divided by the answer tokens of all parts, so the gradient is that of the
    token mean over the whole batch, while only one part's activations are held at a time.

    Args:
        model: the causal LM.
        batches: :func:`_batch` outputs (parts of one optimizer step's rows).

    Returns:
        The mean answer loss over all parts.
    """
    tokens = sum(int((b["labels"] != -100).sum()) for b in batches)
    total = 0.0
    for b in batches:
        part = answer_loss(model, b, reduction="sum") / max(1, tokens)
        part.backward()
        total += float(part.detach())
    return total


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
    """Fine-tune on gold completions for ``steps`` optimizer steps; writes ``sft_metrics.jsonl``.

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
    import torch
    from tqdm import tqdm

    rng = random.Random(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - s / max(1, steps))
    model.train()
    losses: list[float] = []
    device = next(model.parameters()).device
    with (
        open(os.path.join(out_dir, "sft_metrics.jsonl"), "w") as log,
        tqdm(range(steps), desc="sft warm-up", dynamic_ncols=True) as bar,
    ):
        for step in bar:
            items = rng.sample(rows, min(batch, len(rows)))
            if micro_batch and micro_batch < len(items):
                parts = [items[i : i + micro_batch] for i in range(0, len(items), micro_batch)]
                losses.append(backward_in_parts(model, [_batch(tok, p, device, answer) for p in parts]))
            else:
                loss = answer_loss(model, _batch(tok, items, device, answer))
                loss.backward()
                losses.append(float(loss.detach()))
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
            log.write(json.dumps({"step": step + 1, "loss": losses[-1]}) + "\n")
    return losses
