"""The ablation's pilot: how much learning signal each arm's reward gives the SFT policy, before any GRPO.

GRPO normalises rewards within each group of completions of one prompt, so a group whose rewards are all
equal teaches nothing. The pilot samples groups from the SFT policy on training prompts exactly as GRPO
would (same group size, temperature and completion budget), scores the same completions with every arm's
training reward, and records per arm the share of groups with zero variance, before the ablation runs.

>>> zero_variance_share([[1.0, 1.0], [0.0, 0.1]])
0.5
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def zero_variance_share(groups: list[list[float]]) -> float:
    """The share of groups whose rewards are all equal (no GRPO signal).

    Args:
        groups: rewards per group.

    Returns:
        The share in [0, 1] (0 for no groups).

    >>> zero_variance_share([])
    0.0
    """
    if not groups:
        return 0.0
    return sum(max(g) - min(g) < 1e-9 for g in groups) / len(groups)


def sample_groups(
    model: Any, tok: Any, prompts: list[list[dict]], cfg: Any, seed: int, per_call: int = 4
) -> list[list[str]]:
    """``grpo.num_generations`` sampled completions per prompt, as GRPO samples them.

    Args:
        model: the policy.
        tok: its tokenizer.
        prompts: chat prompts.
        cfg: the run config (group size, temperature, top_p, completion budget).
        seed: the sampling seed.
        per_call: prompts sampled together in one ``generate`` call.

    Returns:
        One list of completions per prompt.
    """
    import torch
    from tqdm import tqdm

    torch.manual_seed(seed)
    g, side, tok.padding_side = cfg.grpo.num_generations, tok.padding_side, "left"
    model.eval()
    texts = [tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
    out: list[list[str]] = []
    try:
        for i in tqdm(range(0, len(texts), per_call), desc="pilot sampling", unit="call", dynamic_ncols=True):
            enc = tok(texts[i : i + per_call], return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                ids = model.generate(
                    **enc.to(model.device),
                    do_sample=True,
                    temperature=cfg.grpo.temperature,
                    top_p=cfg.grpo.top_p,
                    max_new_tokens=cfg.optimization.max_response_length,
                    num_return_sequences=g,
                    pad_token_id=tok.pad_token_id,
                )
            flat = tok.batch_decode(ids[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
            out += [flat[j : j + g] for j in range(0, len(flat), g)]
    finally:
        tok.padding_side = side
        model.train()
    return out


def arm_signal(computer: Any, groups: list[list[str]], truths: list[dict]) -> dict[str, Any]:
    """One arm's rewards on the sampled groups.

    Args:
        computer: the arm's training reward (``RewardComputer``).
        groups: completions per prompt.
        truths: each prompt's ground truth.

    Returns:
        ``{"zero_variance_share", "mixed_share", "mean_reward", "rewards"}``; ``mixed_share`` is the share of
        groups with both a correct and a wrong completion.
    """
    flat = [c for g in groups for c in g]
    results = computer.compute_rewards(flat, [t for t, g in zip(truths, groups) for _ in g])
    rewards, correct, i = [], [], 0
    for g in groups:
        rewards.append([round(r.total, 6) for r in results[i : i + len(g)]])
        correct.append([bool(r.correct) for r in results[i : i + len(g)]])
        i += len(g)
    return {
        "zero_variance_share": round(zero_variance_share(rewards), 6),
        "mixed_share": round(sum(any(c) and not all(c) for c in correct) / max(1, len(groups)), 6),
        "mean_reward": round(sum(map(sum, rewards)) / max(1, len(flat)), 6),
        "rewards": rewards,
    }


def run_pilot(plan: Any, policy: Any, engine: Any, n_prompts: int, seed: int) -> dict[str, Any]:
    """Sample ``n_prompts`` evenly spaced training prompts and score them under every arm; writes ``OUT/pilot.json``.

    Args:
        plan: the ablation plan (:class:`extensions.training.plan.Plan`).
        policy: the seed's SFT policy.
        engine: the shared execution engine.
        n_prompts: how many training prompts.
        seed: the SFT seed (also the sampling seed).

    Returns:
        The pilot document.
    """
    from extensions.rewards.combine import RewardComputer
    from extensions.training.plan import load_arm_config, provenance
    from extensions.training.runner import spread

    t0, c0 = time.perf_counter(), time.process_time()
    rows = spread(policy.train_rows, n_prompts)
    cfg = load_arm_config(plan, None)
    groups = sample_groups(policy.model, policy.tok, [r["prompt"] for r in rows], cfg, seed)
    truths = [r["ground_truth"] for r in rows]
    arms = {
        arm: arm_signal(RewardComputer(load_arm_config(plan, arm), engine=engine), groups, truths) for arm in plan.arms
    }
    doc = {
        "seed": seed,
        "prompts": len(rows),
        "group_size": cfg.grpo.num_generations,
        "prompt_db_ids": [r.get("db_id") for r in rows],
        "arms": arms,
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(time.process_time() - c0, 1),
        "provenance": provenance(plan, None),
    }
    with open(os.path.join(plan.out, "pilot.json"), "w") as fh:
        json.dump(doc, fh)
    brief = ", ".join(f"{a} {r['zero_variance_share']:.3f}" for a, r in arms.items())
    print(f"[pilot] zero-variance groups: {brief} ({len(rows)} prompts)", file=sys.stderr)
    return doc
