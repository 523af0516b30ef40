"""The ablation's results JSON, collected from the per-(arm, seed) files of :mod:`extensions.training.ablation`.

The document (``docs/results/ablation_smollm2.json`` for the real model) holds:

* ``model``, ``prompt_ids`` (the held-out prompts, in order), ``config`` (the plan);
* ``base_model``: the pretrained model's held-out ``metrics`` and per-prompt outcomes before any training;
* ``arms``: ``{arm: {"seeds": [...], "exec_match": {"mean", "ci95"}, "hallucination_rate": {...},
  "per_seed": {metric: [...]}, "cpu_s"}}``; ``sft_only`` is the seeds' SFT checkpoints without GRPO;
* ``per_prompt``: ``{arm: {seed: {"exec_match": [0/1 ...], "hallucinated": [0/1 ...]}}}`` in ``prompt_ids`` order;
* ``paired_vs_baseline``: ``{arm: {"diff", "ci95", "p", "method"}}`` on held-out exec match, and
  ``paired_vs_baseline_hallucinated`` likewise.

Means and intervals are over prompts x seeds, by the hierarchical bootstrap of :mod:`extensions.training.stats`,
computed only on the seeds every compared arm has finished; anyone can recompute them from ``per_prompt``.

>>> prompt_ids([{"prompt": [{"role": "user", "content": "q"}],
...              "ground_truth": {"sql": "SELECT 1", "db_path": "/d/hr.sqlite"}}])
['hr:c9f03569']
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from typing import Any

from extensions.training import stats

PER_PROMPT = (("exec_match", "exec_match"), ("hallucinated", "hallucination_rate"))
SEED_METRICS = ("exec_match", "hallucination_rate", "syntax_error_rate", "structural_f1", "zero_std_group_frac")
REFERENCE = "sft_only"


def prompt_ids(rows: list[dict]) -> list[str]:
    """Stable ids of held-out rows: database name and a hash of the question and gold SQL.

    Args:
        rows: held-out rows ``{"prompt", "ground_truth": {"sql", "db_path"}}``.

    Returns:
        One ``<db>:<hash8>`` per row, in order.
    """
    out = []
    for r in rows:
        db = os.path.splitext(os.path.basename(r["ground_truth"].get("db_path") or "db"))[0]
        text = r["prompt"][-1]["content"] + "\n" + str(r["ground_truth"].get("sql"))
        out.append(f"{db}:{hashlib.sha1(text.encode()).hexdigest()[:8]}")
    return out


def _read(path: str) -> dict[str, Any]:
    with open(path) as fh:
        return json.load(fh)


def load_runs(out: str) -> tuple[dict[str, dict[int, dict]], list[str], dict[str, Any]]:
    """Every finished (arm, seed) in ``out``, the SFT checkpoints as arm ``sft_only``, the prompt ids and the plan.

    Args:
        out: the ablation's output folder.

    Returns:
        ``({arm: {seed: result}}, prompt_ids, plan)``.

    Raises:
        FileNotFoundError: no finished seed in ``out``.
    """
    plan = _read(os.path.join(out, "plan.json")) if os.path.exists(os.path.join(out, "plan.json")) else {}
    runs: dict[str, dict[int, dict]] = {}
    ids: list[str] = []
    for sft in sorted(glob.glob(os.path.join(out, "seed-*", "sft.json"))):
        doc = _read(sft)
        ids = ids or doc["prompt_ids"]
        runs.setdefault(REFERENCE, {})[doc["seed"]] = {
            "metrics": doc["sft_only"]["metrics"],
            **doc["sft_only"],
            "cpu_s": doc.get("cpu_s"),
        }
        for path in sorted(glob.glob(os.path.join(os.path.dirname(sft), "*.json"))):
            if os.path.basename(path) not in ("sft.json", "base.json"):
                res = _read(path)
                runs.setdefault(res["arm"], {})[res["seed"]] = res
    if not ids:
        raise FileNotFoundError(f"no finished seed in {out} (no seed-*/sft.json)")
    order = [REFERENCE, *[a for a in plan.get("arms", {}) if a in runs], *sorted(set(runs) - set(plan.get("arms", {})))]
    return {a: dict(sorted(runs[a].items())) for a in dict.fromkeys(order) if a in runs}, ids, plan


def _arm_summary(seeds: dict[int, dict]) -> dict[str, Any]:
    out: dict[str, Any] = {"seeds": list(seeds)}
    for key, metric in PER_PROMPT:
        out[metric] = stats.hierarchical_mean([s[key] for s in seeds.values()])
    out["per_seed"] = {m: [s["metrics"].get(m) for s in seeds.values()] for m in SEED_METRICS}
    out["cpu_s"] = round(sum(s.get("cpu_s") or 0.0 for s in seeds.values()), 1)
    return out


def _paired(runs: dict[str, dict[int, dict]], key: str) -> dict[str, Any]:
    base = runs.get("baseline", {})
    out: dict[str, Any] = {}
    for arm, seeds in runs.items():
        common = [s for s in seeds if s in base]
        if arm == "baseline" or not common:
            continue
        cell = stats.hierarchical_diff([seeds[s][key] for s in common], [base[s][key] for s in common])
        out[arm] = {**cell, "method": stats.HIERARCHICAL}
    return out


def collect(out: str) -> dict[str, Any]:
    """The results document of the finished runs in ``out`` (see the module docstring).

    Args:
        out: the ablation's output folder.

    Returns:
        The document.
    """
    runs, ids, plan = load_runs(out)
    per_prompt = {a: {str(s): {k: r[k] for k, _ in PER_PROMPT} for s, r in seeds.items()} for a, seeds in runs.items()}
    for arm, seeds in per_prompt.items():
        for seed, cells in seeds.items():
            if any(len(v) != len(ids) for v in cells.values()):
                raise ValueError(f"{arm} seed {seed}: per-prompt outcomes do not match the {len(ids)} prompt ids")
    sft_cpu = sum(s.get("cpu_s") or 0.0 for s in runs.get(REFERENCE, {}).values())
    cpu = sft_cpu + sum(s.get("cpu_s") or 0.0 for a, seeds in runs.items() if a != REFERENCE for s in seeds.values())
    base_path = os.path.join(out, "base.json")  # the pretrained model before any training (not the tiny toy's)
    base = _read(base_path) if os.path.exists(base_path) else None
    return {
        "model": plan.get("model"),
        "prompt_ids": ids,
        "base_model": base,
        "arms": {a: _arm_summary(s) for a, s in runs.items()},
        "per_prompt": per_prompt,
        "paired_vs_baseline": _paired(runs, "exec_match"),
        "paired_vs_baseline_hallucinated": _paired(runs, "hallucinated"),
        "cpu_hours": round(cpu / 3600, 2),
        "config": {**plan, "heldout_n": len(ids), "decoding": "greedy"},
    }


def write(out: str, json_path: str) -> dict[str, Any]:
    """Collect ``out`` into ``json_path`` and draw the plot next to it (same name, ``.png``).

    Args:
        out: the ablation's output folder.
        json_path: where the document goes.

    Returns:
        The document.
    """
    from extensions.training.plots import plot_ablation

    doc = collect(out)
    os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
    with open(json_path, "w") as fh:
        json.dump(doc, fh, indent=1)
    plot_ablation(doc, os.path.splitext(json_path)[0] + ".png")
    return doc
