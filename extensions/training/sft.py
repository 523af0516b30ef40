"""Supervised warm-up on gold SQL before GRPO (prompt tokens masked out of the loss).

>>> callable(sft_warmup)
True
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from typing import Any

from extensions.training.data import gold_completion


def _batch(tok: Any, items: list[dict], device: Any, answer: Callable[[str], str]) -> tuple[Any, Any, Any]:
    import torch

    seqs, labels = [], []
    for r in items:
        p_ids = tok(
            tok.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True), add_special_tokens=False
        )["input_ids"]
        t_ids = tok(answer(r["ground_truth"]["sql"]) + (tok.eos_token or ""), add_special_tokens=False)["input_ids"]
        seqs.append(p_ids + t_ids)
        labels.append([-100] * len(p_ids) + t_ids)
    n = max(map(len, seqs))
    ids = torch.tensor([s + [tok.pad_token_id] * (n - len(s)) for s in seqs], device=device)
    lab = torch.tensor([s + [-100] * (n - len(s)) for s in labels], device=device)
    att = torch.tensor([[1] * len(s) + [0] * (n - len(s)) for s in seqs], device=device)
    return ids, att, lab


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
            ids, att, lab = _batch(tok, rng.sample(rows, min(batch, len(rows))), device, answer)
            loss = model(input_ids=ids, attention_mask=att, labels=lab).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
            log.write(json.dumps({"step": step + 1, "loss": losses[-1]}) + "\n")
    return losses
