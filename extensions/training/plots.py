"""Training plots a person can read at a glance.

:func:`plot_run` draws one figure for a run: total reward and execution match on one panel (raw points
faint, rolling mean bold), the held-out before/after as bars, then small multiples for the reward
components, each with its own units, and the counts (hallucinated names) apart from the scores.

>>> [p.key for p in PANELS][:2]
['rewards/format_ok/mean', 'rewards/executed/mean']
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from extensions.training.metrics import read_metrics, rolling_mean

HEADLINE = (
    ("rewards/sql_reward/mean", "total reward", "tab:blue"),
    ("rewards/acc/mean", "execution match", "tab:green"),
)
HELDOUT = (
    ("exec_match", "exec\nmatch"),
    ("format_ok", "format\nok"),
    ("syntax_error_rate", "syntax\nerrors"),
    ("hallucination_rate", "halluci-\nnations"),
)


@dataclass(frozen=True)
class Panel:
    """One small multiple: a metrics key, its title and its unit."""

    key: str
    title: str
    unit: str
    color: str = "tab:gray"


PANELS = (
    Panel("rewards/format_ok/mean", "format ok", "share of completions"),
    Panel("rewards/executed/mean", "executes", "share of completions"),
    Panel("rewards/structural/mean", "structural", "reward points"),
    Panel("rewards/schema/mean", "schema penalty", "reward points (<= 0)"),
    Panel("rewards/syntax/mean", "syntax", "reward points"),
    Panel("frac_reward_zero_std", "groups with no signal", "share of groups"),
    Panel("kl", "KL to reference", "nats / token"),
    Panel("rewards/hallucinations/mean", "hallucinated names", "count per completion", "tab:red"),
)


def _window(n: int) -> int:
    return max(3, n // 10)


def _series(ax: Any, steps: list[int], values: list[Any], color: str, label: str | None = None) -> None:
    pts = [(s, v) for s, v in zip(steps, values) if v is not None]
    if not pts:
        return
    xs, ys = zip(*pts)
    ax.plot(xs, ys, color=color, alpha=0.25, lw=0.8, marker="o", ms=2)
    ax.plot(xs, rolling_mean(list(ys), _window(len(ys))), color=color, lw=2.2, label=label)


def _headline(ax: Any, rows: list[dict]) -> None:
    steps = [r["step"] for r in rows]
    for key, label, color in HEADLINE:
        _series(ax, steps, [r.get(key) for r in rows], color, label)
    ax.set_title(f"training reward (faint: each step; bold: mean of last {_window(len(rows))})", fontsize=10)
    ax.set_xlabel("GRPO step")
    ax.set_ylabel("mean over the step's completions")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=9, frameon=False)


def _heldout_bars(ax: Any, eval_doc: dict) -> None:
    import numpy as np

    x = np.arange(len(HELDOUT))
    phases = (
        ("before", "#bbbbbb", "before training"),
        ("after_sft", "tab:blue", "after SFT"),
        ("after", "tab:green", "after GRPO"),
    )
    shown = [p for p in phases if eval_doc.get(p[0])]
    width = 0.8 / max(1, len(shown))
    for i, (side, color, label) in enumerate(shown):
        vals = [(eval_doc.get(side) or {}).get(k, 0.0) for k, _ in HELDOUT]
        bars = ax.bar(x + (i - (len(shown) - 1) / 2) * width, vals, width, color=color, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(x, [t for _, t in HELDOUT], fontsize=8)
    ax.set_ylim(0, 1.3)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_ylabel("share of held-out prompts")
    ax.set_title(f"held-out prompts (n={eval_doc.get('n')}, {eval_doc.get('decoding')})", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper center", ncol=3)


def _small(ax: Any, rows: list[dict], panel: Panel) -> None:
    _series(ax, [r["step"] for r in rows], [r.get(panel.key) for r in rows], panel.color)
    ax.set_title(panel.title, fontsize=9, color=panel.color if panel.color != "tab:gray" else "black")
    ax.set_ylabel(panel.unit, fontsize=7)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def plot_run(metrics_path: str, png_path: str, eval_path: str | None = None) -> str:
    """Draw a run's figure from ``metrics.jsonl`` (and ``eval.json`` when given); returns ``png_path``.

    Args:
        metrics_path: the run's ``metrics.jsonl``.
        png_path: where the PNG goes.
        eval_path: the run's ``eval.json``, or None for no held-out panel.

    Returns:
        ``png_path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(metrics_path)
    panels = [p for p in PANELS if any(r.get(p.key) is not None for r in rows)]
    ncols = 4
    nsmall = (len(panels) + ncols - 1) // ncols
    fig = plt.figure(figsize=(13, 4 + 2.2 * nsmall))
    grid = fig.add_gridspec(1 + nsmall, ncols, height_ratios=[2.2] + [1] * nsmall, hspace=0.55, wspace=0.35)
    has_eval = bool(eval_path and os.path.exists(eval_path))
    _headline(fig.add_subplot(grid[0, : 3 if has_eval else ncols]), rows)
    if has_eval:
        with open(eval_path) as fh:  # type: ignore[arg-type]
            _heldout_bars(fig.add_subplot(grid[0, 3]), json.load(fh))
    for i, panel in enumerate(panels):
        _small(fig.add_subplot(grid[1 + i // ncols, i % ncols]), rows, panel)
    fig.savefig(png_path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return png_path


ABLATION_BARS = (("exec_match", "held-out exec match"), ("hallucination_rate", "held-out hallucination rate"))


def _arm_bars(ax: Any, doc: dict, key: str, title: str) -> None:
    arms = list(doc["arms"])
    cells = [doc["arms"][a][key] for a in arms]
    means = [c["mean"] for c in cells]
    err = [[m - c["ci95"][0] for m, c in zip(means, cells)], [c["ci95"][1] - m for m, c in zip(means, cells)]]
    colors = ["#bbbbbb" if a == "sft_only" else "#777777" if a == "baseline" else "tab:green" for a in arms]
    bars = ax.bar(range(len(arms)), means, yerr=err, capsize=3, color=colors)
    ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)
    ax.set_xticks(range(len(arms)), arms, rotation=30, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="y")


def _paired_bars(ax: Any, doc: dict) -> None:
    arms = list(doc["paired_vs_baseline"])
    cells = [doc["paired_vs_baseline"][a] for a in arms]
    diffs = [c["diff"] for c in cells]
    err = [[d - c["ci95"][0] for d, c in zip(diffs, cells)], [c["ci95"][1] - d for d, c in zip(diffs, cells)]]
    ax.bar(range(len(arms)), diffs, yerr=err, capsize=3, color=["tab:red" if d < 0 else "tab:green" for d in diffs])
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(arms)), arms, rotation=30, fontsize=8)
    ax.set_title("exec match minus baseline (paired)", fontsize=9)
    ax.grid(alpha=0.3, axis="y")


def plot_ablation(doc: dict, png_path: str) -> str:
    """Held-out bars per arm and paired differences against the baseline, with 95% intervals; returns ``png_path``.

    Args:
        doc: the ablation results document (:func:`extensions.training.ablation_report.collect`).
        png_path: where the PNG goes.

    Returns:
        ``png_path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ABLATION_BARS) + 1, figsize=(13, 4.2))
    for ax, (key, title) in zip(axes, ABLATION_BARS):
        _arm_bars(ax, doc, key, title)
    _paired_bars(axes[-1], doc)
    c = doc.get("config", {})
    fig.suptitle(
        f"{doc.get('model')}: {c.get('steps')} GRPO steps per arm after {c.get('sft_warmup')} SFT steps; "
        f"n = {c.get('heldout_n')} held-out prompts; 95% CI: hierarchical bootstrap (seeds, then prompts)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(png_path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return png_path
