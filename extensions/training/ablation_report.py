"""The ablation's results JSON, collected from the per-(arm, seed) files of :mod:`extensions.training.ablation`.

The document (``docs/results/ablation_spider.json`` for the cross-database run) holds:

* ``model``, ``config`` (the plan), ``split`` (``train_dbs``/``heldout_dbs`` for Spider), ``cluster_unit``;
* ``prompt_ids``, ``prompt_db_ids``, ``prompt_skeletons``, ``prompt_skeleton_seen``: the held-out prompts in order;
* ``base_model``: the pretrained model's held-out ``metrics`` and per-prompt outcomes before any training;
* ``arms``: ``{arm: {"seeds", "exec_match": {"mean", "ci95"}, "hallucination_rate", "per_seed", "cpu_s"}}``
  (``exec_match_unseen_skeletons`` too on the demo); ``sft_only`` is the seeds' SFT checkpoints without GRPO;
* ``per_prompt``: ``{arm: {seed: {"exec_match": [0/1 ...], "hallucinated": [0/1 ...]}}}`` in prompt order;
* ``paired_vs_baseline``: ``{arm: {"diff", "ci95", "p", "method", "cluster", "clusters", "design_effect",
  "discordant", "seeds"}}`` on held-out exec match, and ``paired_vs_baseline_hallucinated`` likewise;
* ``seed_level_vs_baseline``: ``{arm: {metric: {"diff", "higher", "lower", "seeds", "p"}, "method", "cluster"}}``
  for the metrics kept per seed only (syntax errors, structural F1, groups with no reward variance): a paired
  sign-flip test over seeds;
* ``provenance``: ``{arm: {seed: {"commit", "config_hash", ...}}}``; ``verdict``: the default the evidence supports;
* ``progress``: ``{"planned", "finished", "complete"}``: the planned and finished GRPO runs per arm (a run that
  spans sittings is collected as it goes; its verdict stays None until enough seeds finish).

Means and intervals come from the cluster bootstrap of :mod:`extensions.training.stats` (seeds, then clusters,
then prompts), computed on the seeds both compared arms finished; anyone can recompute them from ``per_prompt``.

>>> prompt_ids([{"prompt": [{"role": "user", "content": "q"}],
...              "ground_truth": {"sql": "SELECT 1", "db_path": "/d/hr.sqlite"}}])
['hr:c9f03569']
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from extensions.training import stats

PER_PROMPT = (("exec_match", "exec_match"), ("hallucinated", "hallucination_rate"))
SEED_METRICS = ("exec_match", "hallucination_rate", "syntax_error_rate", "structural_f1", "zero_std_group_frac")
SEED_LEVEL_METRICS = ("syntax_error_rate", "structural_f1", "zero_std_group_frac")
SEED_LEVEL = "exact paired sign-flip test over seeds on each seed's value (all 2^k sign patterns; two-sided)"
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


def prompt_meta(rows: list[dict]) -> dict[str, list]:
    """Each held-out prompt's id, database, skeleton id and whether training saw that skeleton, in row order.

    Args:
        rows: held-out rows (:func:`extensions.training.data.demo_rows` or ``spider_rows``).

    Returns:
        ``{"prompt_ids", "prompt_db_ids", "prompt_skeletons", "prompt_skeleton_seen"}``.
    """
    return {
        "prompt_ids": prompt_ids(rows),
        "prompt_db_ids": [r.get("db_id") or prompt_ids([r])[0].split(":")[0] for r in rows],
        "prompt_skeletons": [r.get("skeleton") for r in rows],
        "prompt_skeleton_seen": [r.get("skeleton_seen") for r in rows],
    }


def _read(path: str) -> dict[str, Any]:
    with open(path) as fh:
        return json.load(fh)


def _check_provenance(docs: dict[str, dict]) -> None:
    """Refuse results that disagree on commit, model or plan, or an arm whose config differs between seeds."""
    fields = ("commit", "dirty", "model_hash", "plan_hash", "platform")
    seen: dict[str, dict[Any, list[str]]] = {f: {} for f in fields}
    arm_configs: dict[str, dict[str, list[str]]] = {}
    for name, doc in docs.items():
        prov = doc.get("provenance")
        if not prov:
            raise ValueError(f"{name} has no provenance (written by an older version); rerun it")
        for f in fields:
            seen[f].setdefault(prov.get(f), []).append(name)
        arm = doc.get("arm", "sft")
        arm_configs.setdefault(arm, {}).setdefault(prov.get("config_hash"), []).append(name)
    bad = [f"{f}: " + " vs ".join(f"{v} ({', '.join(n[:3])})" for v, n in vals.items()) for f, vals in seen.items()]
    bad = [b for b, vals in zip(bad, seen.values()) if len(vals) > 1]
    bad += [f"{arm} config: {len(c)} different configs" for arm, c in arm_configs.items() if len(c) > 1]
    if bad:
        raise ValueError("results disagree in their provenance: " + "; ".join(bad))


def load_runs(out: str) -> tuple[dict[str, dict[int, dict]], dict[str, list], dict[str, Any]]:
    """The planned (arm, seed) results in ``out``, the SFT checkpoints as arm ``sft_only``, prompt metadata, plan.

    Only the arms and seeds of ``OUT/plan.json`` are read; other files in the folder are ignored.

    Args:
        out: the ablation's output folder.

    Returns:
        ``({arm: {seed: result}}, prompt_meta, plan)``.

    Raises:
        FileNotFoundError: no plan or no finished seed in ``out``.
        ValueError: results disagree in their provenance, or a seed's prompts differ from another's.
    """
    plan_path = os.path.join(out, "plan.json")
    if not os.path.exists(plan_path):
        raise FileNotFoundError(f"no plan.json in {out}: not an ablation folder")
    plan = _read(plan_path)
    runs: dict[str, dict[int, dict]] = {}
    docs: dict[str, dict] = {}
    meta: dict[str, list] = {}
    for seed in plan.get("seeds", []):
        sft = os.path.join(out, f"seed-{seed}", "sft.json")
        if not os.path.exists(sft):
            continue
        doc = docs[os.path.relpath(sft, out)] = _read(sft)
        this = {k: doc.get(k) for k in ("prompt_ids", "prompt_db_ids", "prompt_skeletons", "prompt_skeleton_seen")}
        if meta and this["prompt_ids"] != meta["prompt_ids"]:
            raise ValueError(f"{sft}: its held-out prompts differ from the other seeds'")
        meta = meta or this
        runs.setdefault(REFERENCE, {})[seed] = {
            **doc["sft_only"],
            "cpu_s": doc.get("cpu_s"),
            "provenance": doc.get("provenance"),
        }
        for arm in plan.get("arms", {}):
            path = os.path.join(out, f"seed-{seed}", f"{arm}.json")
            if os.path.exists(path):
                runs.setdefault(arm, {})[seed] = docs[os.path.relpath(path, out)] = _read(path)
    if not meta:
        raise FileNotFoundError(f"no finished seed in {out} (no seed-*/sft.json)")
    _check_provenance(docs)
    order = [REFERENCE, *[a for a in plan.get("arms", {}) if a in runs]]
    return {a: dict(sorted(runs[a].items())) for a in order}, meta, plan


def _clusters(meta: dict[str, list], plan: dict[str, Any]) -> tuple[str, list[str]]:
    unit = "database" if plan.get("data") == "spider" else "skeleton"
    return unit, [str(c) for c in meta["prompt_db_ids" if unit == "database" else "prompt_skeletons"]]


def _arm_summary(seeds: dict[int, dict], clusters: list[str], unseen: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"seeds": list(seeds)}
    for key, metric in PER_PROMPT:
        out[metric] = stats.clustered_mean([s[key] for s in seeds.values()], clusters)
    if unseen and len(unseen) < len(clusters):
        cells = [[s["exec_match"][i] for i in unseen] for s in seeds.values()]
        out["exec_match_unseen_skeletons"] = stats.clustered_mean(cells, [clusters[i] for i in unseen])
    out["per_seed"] = {m: [s["metrics"].get(m) for s in seeds.values()] for m in SEED_METRICS}
    out["cpu_s"] = round(sum(s.get("cpu_s") or 0.0 for s in seeds.values()), 1)
    return out


def _paired(runs: dict[str, dict[int, dict]], key: str, unit: str, clusters: list[str]) -> dict[str, Any]:
    base = runs.get("baseline", {})
    out: dict[str, Any] = {}
    for arm, seeds in runs.items():
        common = [s for s in seeds if s in base]
        if arm == "baseline" or not common:
            continue
        cell = stats.clustered_diff([seeds[s][key] for s in common], [base[s][key] for s in common], clusters)
        out[arm] = {**cell, "seeds": common, "method": stats.CLUSTERED.format(unit=unit), "cluster": unit}
    return out


def seed_level(runs: dict[str, dict[int, dict]]) -> dict[str, Any]:
    """Each arm against ``baseline`` on the metrics kept per seed only, paired by seed.

    Args:
        runs: ``{arm: {seed: result}}`` as :func:`load_runs` returns it.

    Returns:
        ``{arm: {metric: {"diff", "higher", "lower", "seeds", "p"}, "method", "cluster"}}``; ``diff`` is the mean
        over seeds of the arm's value minus baseline's, ``higher``/``lower`` count the seeds on each side.

    >>> one = lambda v: {0: {"metrics": {"syntax_error_rate": v}}}
    >>> seed_level({"baseline": one(0.1), "all": one(0.3)})["all"]["syntax_error_rate"]["higher"]
    1
    """
    base = runs.get("baseline", {})
    out: dict[str, Any] = {}
    for arm, seeds in runs.items():
        if arm == "baseline":
            continue
        cells: dict[str, Any] = {}
        for m in SEED_LEVEL_METRICS:
            pairs = [(s, seeds[s]["metrics"].get(m), base[s]["metrics"].get(m)) for s in seeds if s in base]
            diffs = {s: a - b for s, a, b in pairs if a is not None and b is not None}
            if diffs:
                d = list(diffs.values())
                cells[m] = {
                    "diff": round(sum(d) / len(d), 6),
                    "higher": sum(x > 0 for x in d),
                    "lower": sum(x < 0 for x in d),
                    "seeds": list(diffs),
                    "p": stats.sign_flip_p(d),
                }
        if cells:
            out[arm] = {**cells, "method": SEED_LEVEL, "cluster": "seed"}
    return out


def collect(out: str) -> dict[str, Any]:
    """The results document of the finished, planned runs in ``out`` (see the module docstring).

    Args:
        out: the ablation's output folder.

    Returns:
        The document.
    """
    runs, meta, plan = load_runs(out)
    ids = meta["prompt_ids"]
    per_prompt = {a: {str(s): {k: r[k] for k, _ in PER_PROMPT} for s, r in seeds.items()} for a, seeds in runs.items()}
    for arm, seeds in per_prompt.items():
        for seed, cells in seeds.items():
            if any(len(v) != len(ids) for v in cells.values()):
                raise ValueError(f"{arm} seed {seed}: per-prompt outcomes do not match the {len(ids)} prompt ids")
    unit, clusters = _clusters(meta, plan)
    unseen = [i for i, seen in enumerate(meta.get("prompt_skeleton_seen") or []) if seen is False]
    cpu = sum(s.get("cpu_s") or 0.0 for seeds in runs.values() for s in seeds.values())
    base_path = os.path.join(out, "base.json")  # the pretrained model before any training (not the tiny toy's)
    base = _read(base_path) if os.path.exists(base_path) else None
    provenance = {a: {str(s): r.get("provenance") for s, r in seeds.items()} for a, seeds in runs.items()}
    return {
        "model": plan.get("model"),
        **meta,
        "split": _split(plan, meta),
        "cluster_unit": unit,
        "base_model": base,
        "arms": {a: _arm_summary(s, clusters, unseen) for a, s in runs.items()},
        "per_prompt": per_prompt,
        "paired_vs_baseline": (paired := _paired(runs, "exec_match", unit, clusters)),
        "verdict": verdict(paired),
        "paired_vs_baseline_hallucinated": _paired(runs, "hallucinated", unit, clusters),
        "seed_level_vs_baseline": seed_level(runs),
        "provenance": provenance,
        "progress": progress(plan, runs),
        "cpu_hours": round(cpu / 3600, 2),
        "config": {**plan, "heldout_n": len(ids), "decoding": "greedy"},
    }


def progress(plan: dict[str, Any], runs: dict[str, dict[int, dict]]) -> dict[str, Any]:
    """The planned and finished GRPO runs of each arm.

    Args:
        plan: the ablation's ``plan.json``.
        runs: ``{arm: {seed: result}}`` as :func:`load_runs` returns it.

    Returns:
        ``{"planned": {arm: [seeds]}, "finished": {arm: [seeds]}, "complete": bool}``.

    >>> progress({"arms": {"baseline": {}}, "seeds": [0, 1]}, {"baseline": {0: {}}})["complete"]
    False
    """
    seeds = list(plan.get("seeds", []))
    planned = {arm: seeds for arm in plan.get("arms", {})}
    finished = {arm: sorted(runs.get(arm, {})) for arm in planned}
    return {"planned": planned, "finished": finished, "complete": finished == planned}


MIN_SEEDS = 5


def verdict(paired: dict[str, Any], min_seeds: int = MIN_SEEDS) -> dict[str, Any]:
    """Which reward the evidence supports as the shipped default.

    A shaped arm wins when its paired difference to ``baseline`` in held-out exec match has a 95% interval above
    0 on at least ``min_seeds`` seeds; the best such arm becomes the default. With none, the default is the plain
    execution preset and shaping stays opt-in. Fewer seeds give no verdict yet.

    Args:
        paired: ``paired_vs_baseline`` of a results document.
        min_seeds: seeds an arm needs before it counts.

    Returns:
        ``{"default": "plain" | "shaped" | None, "arm", "rule"}``.

    >>> verdict({"all": {"diff": 0.01, "ci95": [-0.02, 0.04], "seeds": [0, 1, 2, 3, 4]}})["default"]
    'plain'
    >>> verdict({"all": {"diff": 0.05, "ci95": [0.01, 0.09], "seeds": [0, 1]}})["default"] is None
    True
    """
    rule = (
        f"a shaped arm becomes the default when, on at least {min_seeds} seeds, its paired difference to baseline "
        "in held-out exec match has a 95% interval above 0; otherwise the plain execution preset is the default"
    )
    shaped = {a: c for a, c in paired.items() if a != REFERENCE}
    ready = {a: c for a, c in shaped.items() if len(c.get("seeds", [])) >= min_seeds}
    if not ready:
        return {"default": None, "arm": None, "rule": rule}
    winners = sorted((c["diff"], a) for a, c in ready.items() if c["ci95"][0] > 0)
    if winners:
        return {"default": "shaped", "arm": winners[-1][1], "rule": rule}
    return {"default": "plain", "arm": "baseline", "rule": rule}


def _split(plan: dict[str, Any], meta: dict[str, list]) -> dict[str, Any]:
    if plan.get("data") == "spider":
        from extensions.data.spider_split import HELDOUT_DBS, TRAIN_DBS

        return {
            "train_dbs": list(TRAIN_DBS),
            "heldout_dbs": list(HELDOUT_DBS),
            "rule": "extensions/data/spider_split.py",
        }
    seen = meta.get("prompt_skeleton_seen") or []
    return {"by": "gold query", "heldout_unseen_skeletons": sum(v is False for v in seen), "heldout": len(seen)}


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
