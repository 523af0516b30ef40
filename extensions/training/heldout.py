"""The held-out check: greedy completions for held-out prompts, scored by one fixed measuring reward.

The measuring reward is the same for every run and ablation arm (the arctic preset with every shaping
component on and ``gating: always``), so ``structural_f1`` and ``hallucination_rate`` are measured the
same way whatever reward trained the model.

>>> b = {"acc": 1.0, "format_ok": 1.0, "hallucinations": 0.0, "status_syntax_error": 0.0, "structural_f1": 1.0}
>>> summarize([b])["exec_match"]
1.0
"""

from __future__ import annotations

from typing import Any

DECODING = "greedy"
METRICS = ("exec_match", "hallucination_rate", "syntax_error_rate", "format_ok", "structural_f1")


def measuring_computer(engine: Any = None) -> Any:
    """The fixed reward used to measure held-out completions (never the one being trained with).

    Args:
        engine: an :class:`~extensions.execution.ExecutionEngine` to share, or None for a new one.

    Returns:
        A ``RewardComputer`` (arctic, all shaping, gating ``always``).
    """
    from extensions.config import RewardConfig
    from extensions.rewards.combine import RewardComputer

    return RewardComputer(RewardConfig(baseline="arctic", enable_enhanced=True, gating="always"), engine=engine)


def summarize(breakdowns: list[dict[str, float]]) -> dict[str, float]:
    """Held-out metrics from per-completion reward breakdowns.

    Args:
        breakdowns: one breakdown dict per held-out prompt.

    Returns:
        ``exec_match``, ``hallucination_rate`` (share with at least one hallucinated name),
        ``syntax_error_rate``, ``format_ok`` and ``structural_f1`` (means over prompts).

    >>> summarize([])["exec_match"]
    0.0
    """
    n = max(1, len(breakdowns))

    def mean(f: Any) -> float:
        return sum(f(b) for b in breakdowns) / n

    return {
        "exec_match": mean(lambda b: b.get("acc", 0.0)),
        "hallucination_rate": mean(lambda b: float(b.get("hallucinations", 0.0) > 0)),
        "syntax_error_rate": mean(lambda b: b.get("status_syntax_error", 0.0)),
        "format_ok": mean(lambda b: b.get("format_ok", 0.0)),
        "structural_f1": mean(lambda b: b.get("structural_f1", 0.0)),
    }


def generate(
    model: Any, tok: Any, prompts: list[list[dict]], max_new_tokens: int, batch: int = 64, desc: str = "held-out"
) -> list[str]:
    """Greedy completions for chat prompts, returned in input order.

    Prompts are decoded in batches of similar length (sorted by token count), so little is spent on padding;
    on a CPU a decoding step costs nearly the same for 8 or 64 sequences, so larger batches are cheaper.

    Args:
        model: a causal LM (optionally a PEFT model).
        tok: its tokenizer (with a chat template).
        prompts: chat message lists.
        max_new_tokens: the completion budget (the training one).
        batch: prompts per ``generate`` call.
        desc: the progress bar's label.

    Returns:
        The decoded completions (special tokens removed).
    """
    import torch
    from tqdm import tqdm

    side, tok.padding_side = tok.padding_side, "left"
    was_training = model.training
    model.eval()
    texts = [tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
    lengths = [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]] if texts else []
    order = sorted(range(len(texts)), key=lambda i: (lengths[i], i))
    out: dict[int, str] = {}
    try:
        for start in tqdm(range(0, len(order), batch), desc=desc, unit="batch", dynamic_ncols=True):
            idx = order[start : start + batch]
            enc = tok([texts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                ids = model.generate(
                    **enc.to(model.device),
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    pad_token_id=tok.pad_token_id,
                )
            texts_out = tok.batch_decode(ids[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
            out.update(zip(idx, texts_out))
    finally:
        tok.padding_side = side
        model.train(was_training)
    return [out[i] for i in range(len(texts))]


def evaluate_heldout(
    model: Any, tok: Any, rows: list[dict], computer: Any, max_new_tokens: int, desc: str = "held-out"
) -> tuple[dict[str, float], dict[str, list[int]]]:
    """Generate for every held-out row and measure the completions.

    Args:
        model: the policy.
        tok: its tokenizer.
        rows: held-out rows ``{"prompt", "ground_truth"}``.
        computer: the measuring reward (:func:`measuring_computer`).
        max_new_tokens: the completion budget.
        desc: the progress bar's label.

    Returns:
        ``(metrics, per_prompt)``: :func:`summarize` of the breakdowns, and per prompt (in row order) 0/1
        ``exec_match`` and ``hallucinated`` (at least one hallucinated name).
    """
    completions = generate(model, tok, [r["prompt"] for r in rows], max_new_tokens, desc=desc)
    results = computer.compute_rewards(completions, [r["ground_truth"] for r in rows])
    breakdowns = [r.breakdown for r in results]
    per_prompt = {
        "exec_match": [int(b.get("acc", 0.0) > 0) for b in breakdowns],
        "hallucinated": [int(b.get("hallucinations", 0.0) > 0) for b in breakdowns],
    }
    return summarize(breakdowns), per_prompt
