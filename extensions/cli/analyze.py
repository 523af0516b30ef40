"""``python -m extensions.analyze ROLLOUTS``: does shaping add learning signal without breaking the ordering?

Input: a JSONL file of groups ``{"prompt_id", "ground_truth": {"sql", "db_path"}, "completions": [text, ...]}``
(as a training run or any sampler writes them), or, with ``--spider-verdicts``, a file of Spider predictions
``{"index", "db_id", "gold", "pred", "system"}`` grouped by ``index`` (the SQL is wrapped in the answer format).

For every preset, under every arm of :data:`extensions.rewards.arms.ARMS` (shaping off, each component alone,
all of it, all of it in the narrow band, the result-table Soft F1 alone and with all of it):

* ``zero_std_frac``: share of groups whose totals are all equal (no GRPO gradient);
* ``margin_min`` / ``margin_mean``: lowest correct total minus highest wrong total, over mixed groups;
* ``correct_not_top_frac``: share of mixed groups where a wrong completion scores at least as high as
  the best correct one (must be 0);
* ``shaping_f1_spearman``: Spearman correlation, among wrong answers, between the shaping reward and the
  row-level F1 of the answer's result multiset against the gold's.

>>> row_f1([(1,), (2,)], [(1,), (3,)])
0.5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from extensions._util.figure import save_figure
from extensions.rewards.arms import ARM_OVERRIDES as ARMS

PRESETS = ("sql_r1", "arctic", "reasoning_sql", "combined")


@dataclass
class Group:
    """One prompt's completions and its ground truth."""

    prompt_id: str
    ground_truth: dict[str, Any]
    completions: list[str]


def answer(sql: str) -> str:
    """A bare SQL string in the answer format every preset reads."""
    return f"<think>Predicted query.</think><answer>```sql\n{sql}\n```</answer>"


def read_groups(path: str) -> list[Group]:
    """Groups of a rollouts JSONL file (``prompt_id``, ``ground_truth``, ``completions``)."""
    from extensions._util.nesting import json_loads_bounded

    out = []
    with open(path) as fh:
        for i, line in enumerate(fh):
            if line.strip():
                d = json_loads_bounded(line)
                out.append(
                    Group(str(d.get("prompt_id", i)), dict(d["ground_truth"]), [str(c) for c in d["completions"]])
                )
    return out


def read_spider_verdicts(path: str, db_root: str) -> list[Group]:
    """Spider predictions grouped by question ``index``; each prediction wrapped with :func:`answer`."""
    from extensions._util.nesting import json_loads_bounded
    from extensions.data.layout import db_file

    by_q: dict[int, dict[str, Any]] = {}
    with open(path) as fh:
        for line in fh:
            if line.strip():
                d = json_loads_bounded(line)
                g = by_q.setdefault(
                    int(d["index"]), {"gt": {"sql": d["gold"], "db_path": db_file(db_root, d["db_id"])}, "c": []}
                )
                g["c"].append(answer(str(d["pred"])))
    return [Group(str(k), v["gt"], v["c"]) for k, v in sorted(by_q.items())]


def _norm(row: Sequence[Any]) -> tuple:
    return tuple(round(v, 6) if isinstance(v, float) else v for v in row)


def row_f1(pred: Sequence[Sequence[Any]] | None, gold: Sequence[Sequence[Any]] | None) -> float:
    """F1 of two result multisets (rows compared as tuples, floats to 6 places); 0 when either failed.

    Args:
        pred: the answer's rows, or None when it did not execute.
        gold: the gold rows.

    Returns:
        ``2 * |pred & gold| / (|pred| + |gold|)`` over row multisets; 1.0 when both are empty.
    """
    if pred is None or gold is None:
        return 0.0
    if not pred and not gold:
        return 1.0
    common = sum((Counter(map(_norm, pred)) & Counter(map(_norm, gold))).values())
    return 2 * common / (len(pred) + len(gold))


def result_f1(groups: list[Group], engine: Any) -> list[list[float]]:
    """Row-level F1 of every completion's result against its group's gold result.

    Args:
        groups: the groups.
        engine: an :class:`~extensions.execution.ExecutionEngine`.

    Returns:
        One list of F1 values per group, in completion order.
    """
    from extensions.config import RewardConfig
    from extensions.sql.extract import extract_sql

    rc = RewardConfig()
    out = []
    for g in groups:
        path = g.ground_truth.get("db_path", "")
        gold = engine.execute(path, g.ground_truth.get("sql", ""))
        row = []
        for c in g.completions:  # the reward's own extraction, so closeness is measured on the SQL it scores
            sql = extract_sql(c, style=rc.extraction_style, require_sql_block=rc.require_sql_block).sql
            row.append(row_f1(engine.execute(path, sql).rows if sql else None, gold.rows))
        out.append(row)
    return out


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman rank correlation (None when fewer than 3 pairs or either side is constant)."""
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    from scipy import stats

    r = stats.spearmanr(xs, ys).statistic
    return None if r is None or math.isnan(r) else float(r)


def _group_stats(totals: list[float], correct: list[bool]) -> tuple[bool, float | None, bool | None]:
    zero_std = max(totals) - min(totals) < 1e-9
    good = [t for t, c in zip(totals, correct) if c]
    bad = [t for t, c in zip(totals, correct) if not c]
    if not good or not bad:
        return zero_std, None, None
    return zero_std, min(good) - max(bad), max(bad) >= max(good)


def variant_report(groups: list[Group], results: list[list[Any]], f1: list[list[float]]) -> dict[str, Any]:
    """The four measures for one reward variant.

    Args:
        groups: the groups.
        results: per group, the reward results of its completions (``.total``, ``.breakdown``).
        f1: per group, the row-level F1 of its completions.

    Returns:
        ``zero_std_frac``, ``all_correct_frac``, ``no_correct_groups``, ``no_correct_zero_std_frac`` (zero-std
        share among groups with no correct completion, where only shaping can give a signal), ``mixed_groups``,
        ``margin_min``, ``margin_mean``, ``correct_not_top_frac``, ``shaping_f1_spearman`` and ``wrong_answers``.
    """
    zero, margins, inverted, shaping, overlap = 0, [], 0, [], []
    none_right, none_right_zero, all_right = 0, 0, 0
    for res, fs in zip(results, f1):
        correct = [r.breakdown.get("correct", 0.0) > 0 for r in res]
        z, margin, inv = _group_stats([r.total for r in res], correct)
        zero += z
        all_right += all(correct)
        if not any(correct):
            none_right += 1
            none_right_zero += z
        if margin is not None:
            margins.append(margin)
            inverted += bool(inv)
        for r, c, f in zip(res, correct, fs):
            if not c:
                shaping.append(r.breakdown.get("shaping", 0.0))
                overlap.append(f)
    n = max(1, len(groups))
    return {
        "zero_std_frac": zero / n,
        "all_correct_frac": all_right / n,
        "no_correct_groups": none_right,
        "no_correct_zero_std_frac": none_right_zero / none_right if none_right else None,
        "mixed_groups": len(margins),
        "margin_min": min(margins) if margins else None,
        "margin_mean": sum(margins) / len(margins) if margins else None,
        "correct_not_top_frac": inverted / len(margins) if margins else None,
        "shaping_f1_spearman": spearman(shaping, overlap),
        "wrong_answers": len(shaping),
    }


def analyze(
    groups: list[Group], presets: Sequence[str] = PRESETS, variants: Sequence[str] = tuple(ARMS)
) -> dict[str, Any]:
    """Score every group under every preset and variant.

    Returns ``{"n_groups", "results": {preset: {variant: report}}}``.

    Args:
        groups: the groups.
        presets: baseline presets to compare.
        variants: shaping variants (names of :data:`extensions.rewards.arms.ARMS`).

    Returns:
        The report document.
    """
    from extensions.config import load_config
    from extensions.execution import ExecutionEngine
    from extensions.rewards.combine import RewardComputer

    engine = ExecutionEngine(
        load_config(overrides=["execution.workers=1", "execution.timeout_s=5"]).execution.engine_settings()
    )
    try:
        f1 = result_f1(groups, engine)
        flat = [c for g in groups for c in g.completions]
        gts = [g.ground_truth for g in groups for _ in g.completions]
        out: dict[str, Any] = {}
        for preset in presets:
            out[preset] = {}
            for variant in variants:
                cfg = load_config(overrides=[f"reward.baseline={preset}", *ARMS[variant]])
                scored = iter(RewardComputer(cfg, engine=engine).compute_rewards(flat, gts))
                results = [[next(scored) for _ in g.completions] for g in groups]
                out[preset][variant] = variant_report(groups, results, f1)
    finally:
        engine.close()
    return {"n_groups": len(groups), "n_completions": sum(len(g.completions) for g in groups), "results": out}


def _fmt(v: Any) -> str:
    return "–" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def table(doc: dict[str, Any]) -> str:
    """A Markdown table of an analysis document (one row per preset and variant)."""
    head = (
        "| preset | shaping | zero-std groups | zero-std among no-correct groups | margin min | margin mean "
        "| correct not top | Spearman(shaping, row F1) |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for preset, variants in doc["results"].items():
        for variant, r in variants.items():
            lines.append(
                f"| {preset} | {variant} | {_fmt(r['zero_std_frac'])} | {_fmt(r['no_correct_zero_std_frac'])} "
                f"| {_fmt(r['margin_min'])} | {_fmt(r['margin_mean'])} "
                f"| {_fmt(r['correct_not_top_frac'])} | {_fmt(r['shaping_f1_spearman'])} |"
            )
    return "\n".join(lines)


def plot(doc: dict[str, Any], png_path: str) -> str:
    """Grouped bars per preset and variant: zero-std share among groups with no correct answer, and the
    shaping/overlap correlation among wrong answers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    presets = list(doc["results"])
    variants = list(next(iter(doc["results"].values())))
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.6))
    width = 0.8 / len(variants)
    for ax, key, title in (
        (axes[0], "no_correct_zero_std_frac", "groups with no correct answer AND no GRPO signal (share)"),
        (axes[1], "shaping_f1_spearman", "Spearman(shaping, result-overlap F1) among wrong answers"),
    ):
        for j, v in enumerate(variants):
            vals = [doc["results"][p][v][key] or 0.0 for p in presets]
            ax.bar(np.arange(len(presets)) + (j - (len(variants) - 1) / 2) * width, vals, width, label=v)
        ax.set_xticks(range(len(presets)), presets)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    handles, labels = axes[0].get_legend_handles_labels()  # below the panels, never over a bar
    fig.legend(
        handles,
        labels,
        title="shaping",
        fontsize=8,
        frameon=False,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=len(variants),
    )
    fig.suptitle(f"{doc['n_groups']} groups, {doc['n_completions']} completions", fontsize=10)
    return save_figure(fig, png_path, doc)  # the PNG records the SHA-256 of the JSON written beside it


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of ``python -m extensions.analyze``."""
    p = argparse.ArgumentParser(
        prog="python -m extensions.analyze", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("rollouts", help="JSONL of groups, or of Spider predictions with --spider-verdicts")
    p.add_argument(
        "--spider-verdicts", action="store_true", help="ROLLOUTS holds Spider predictions; group them by question"
    )
    p.add_argument("--db-root", help="database folder for --spider-verdicts (<root>/<db_id>/<db_id>.sqlite)")
    p.add_argument("--presets", default=",".join(PRESETS), help="comma-separated presets (default: %(default)s)")
    p.add_argument("--limit", type=int, help="only the first N groups")
    p.add_argument(
        "--out", default="outputs/analysis", help="folder for analysis.json and analysis.png (default: %(default)s)"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (2 for unreadable input)."""
    args = parse_args(argv)
    try:
        if args.spider_verdicts:
            groups = read_spider_verdicts(
                args.rollouts, args.db_root or os.path.join(os.path.dirname(args.rollouts), "database")
            )
        else:
            groups = read_groups(args.rollouts)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: cannot read {args.rollouts}: {exc}", file=sys.stderr)
        return 2
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    if [p for p in presets if p not in PRESETS] or not groups:
        print(f"error: need groups and presets from {', '.join(PRESETS)}", file=sys.stderr)
        return 2
    doc = analyze(groups[: args.limit] if args.limit else groups, presets)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "analysis.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
    plot(doc, os.path.join(args.out, "analysis.png"))
    print(table(doc))
    return 0
