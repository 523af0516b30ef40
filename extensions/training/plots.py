"""Training plots a person can read at a glance, each showing only what was measured.

:func:`plot_run` draws one figure for a run: the training reward and execution match of every GRPO step
(points: the step's mean over its completions; band: ± one standard deviation of those completions; no
smoothing), the held-out check as labelled horizontal bars, then one small panel per component that the run
logged (KL only when ``beta`` > 0, since TRL logs none otherwise). :func:`draw_run` draws it from data in
memory; with ``source`` the PNG carries the SHA-256 of that data (:mod:`extensions._util.figure`), so a test
can tell a committed figure from a stale one.

>>> [p.key for p in PANELS][:2]
['rewards/format_ok/mean', 'rewards/executed/mean']
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from extensions._util.figure import save_figure
from extensions.training.metrics import read_metrics

HEADLINE = (
    ("rewards/sql_reward/mean", "total reward", "tab:blue"),
    ("rewards/acc/mean", "execution match", "tab:green"),
)
# Where a quantity can be: its band is clipped there (shares of completions in [0, 1], counts at least 0).
BOUNDS = {
    "rewards/acc/mean": (0.0, 1.0),
    "rewards/format_ok/mean": (0.0, 1.0),
    "rewards/executed/mean": (0.0, 1.0),
    "frac_reward_zero_std": (0.0, 1.0),
    "rewards/hallucinations/mean": (0.0, float("inf")),
}
HELDOUT = (
    ("exec_match", "exec match"),
    ("format_ok", "format ok"),
    ("syntax_error_rate", "syntax errors"),
    ("hallucination_rate", "hallucinations"),
)
PHASE_BARS = (
    ("before", "#bbbbbb", "before training"),
    ("after_sft", "tab:blue", "after SFT"),
    ("after", "tab:green", "after GRPO"),
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


def plotted_keys() -> list[str]:
    """The metrics keys a run's figure reads (each mean with its std), for storing a run's curves.

    >>> plotted_keys()[:3]
    ['step', 'rewards/sql_reward/mean', 'rewards/sql_reward/std']
    """
    means = [k for k, _, _ in HEADLINE] + [p.key for p in PANELS]
    return ["step"] + [x for k in means for x in ([k, _std_key(k)] if k.endswith("/mean") else [k])]


def _std_key(key: str) -> str:
    return key[: -len("/mean")] + "/std"


def _series(ax: Any, rows: list[dict], key: str, color: str, label: str | None = None) -> None:
    """The step means as points joined by a thin line, with a ± 1 std band where the std was logged.

    A share's band is clipped to [0, 1] and a count's at 0 (:data:`BOUNDS`).
    """
    from matplotlib.ticker import MaxNLocator

    pts = [(r["step"], r[key], r.get(_std_key(key))) for r in rows if r.get(key) is not None]
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if not pts:
        return
    xs, ys, sds = zip(*pts)
    if all(sd is not None for sd in sds):
        low, high = [y - sd for y, sd in zip(ys, sds)], [y + sd for y, sd in zip(ys, sds)]
        if key in BOUNDS:
            lo, hi = BOUNDS[key]
            low, high = [max(lo, v) for v in low], [min(hi, v) for v in high]
        if len(xs) > 1:
            ax.fill_between(xs, low, high, color=color, alpha=0.15, lw=0)
        else:
            ax.vlines(xs, low, high, color=color, alpha=0.3, lw=6)
    ax.plot(xs, ys, color=color, lw=1.0, marker="o", ms=3.5, label=label)


def _headline(ax: Any, rows: list[dict]) -> None:
    for key, label, color in HEADLINE:
        _series(ax, rows, key, color, label)
    ax.set_title("each GRPO step: mean over its completions (points), ± 1 std (band)", fontsize=10)
    ax.set_xlabel("GRPO step")
    ax.set_ylabel("reward / share of completions")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(HEADLINE), fontsize=9, frameon=False)


def heldout_groups(eval_doc: dict) -> list[tuple[str, dict[str, float | None]]]:
    """The held-out bar groups: a label and each phase's value (None for a phase that did not run).

    >>> heldout_groups({"after": {"exec_match": 0.5}, "unseen_skeleton": {"n": 3, "after": 0.25}})[:2]
    [('exec match', {'before': None, 'after_sft': None, 'after': 0.5}), \
('exec match, unseen skeleton (n=3)', {'before': None, 'after_sft': None, 'after': 0.25})]
    """
    groups = []
    for key, label in HELDOUT:
        groups.append((label, {p: (eval_doc.get(p) or {}).get(key) for p, _, _ in PHASE_BARS}))
        unseen = eval_doc.get("unseen_skeleton")
        if key == "exec_match" and unseen and unseen.get("n"):
            values = {p: unseen.get(p) for p, _, _ in PHASE_BARS}
            groups.append((f"exec match, unseen skeleton (n={unseen['n']})", values))
    return groups


def _heldout_bars(ax: Any, eval_doc: dict) -> None:
    groups = heldout_groups(eval_doc)
    shown = [ph for ph in PHASE_BARS if any(v[ph[0]] is not None for _, v in groups)]
    height = 0.8 / max(1, len(shown))
    for i, (phase, color, label) in enumerate(shown):
        ys = [g + (i - (len(shown) - 1) / 2) * height for g in range(len(groups))]
        vals = [v[phase] if v[phase] is not None else 0.0 for _, v in groups]
        bars = ax.barh(ys, vals, height, color=color, label=label)
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)
    ax.set_yticks(range(len(groups)), [name.replace(", ", ",\n") for name, _ in groups], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.22)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_xlabel("share of held-out prompts")
    ax.set_title(f"held-out prompts (n={eval_doc.get('n')}, {eval_doc.get('decoding')})", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(shown), fontsize=8, frameon=False)


def _small(ax: Any, rows: list[dict], panel: Panel) -> None:
    _series(ax, rows, panel.key, panel.color)
    ax.set_title(panel.title, fontsize=9, color=panel.color if panel.color != "tab:gray" else "black")
    ax.set_ylabel(panel.unit, fontsize=7)
    ax.set_xlabel("GRPO step", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def run_figure(rows: list[dict], eval_doc: dict | None = None) -> Any:
    """The run's figure (see the module docstring) from its per-step rows and ``eval.json``.

    Args:
        rows: ``metrics.jsonl`` rows (``step`` and the logged numbers).
        eval_doc: the run's ``eval.json``, or None for no held-out panel.

    Returns:
        The matplotlib figure.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [p for p in PANELS if any(r.get(p.key) is not None for r in rows)]
    ncols = 4
    nsmall = (len(panels) + ncols - 1) // ncols
    fig = plt.figure(figsize=(14, 4.6 + 2.5 * nsmall))
    grid = fig.add_gridspec(1 + nsmall, ncols, height_ratios=[2.4] + [1] * nsmall, hspace=0.75, wspace=0.4)
    _headline(fig.add_subplot(grid[0, : 2 if eval_doc else ncols]), rows)
    if eval_doc:
        _heldout_bars(fig.add_subplot(grid[0, 2:]), eval_doc)
    for i, panel in enumerate(panels):
        _small(fig.add_subplot(grid[1 + i // ncols, i % ncols]), rows, panel)
    return fig


def draw_run(rows: list[dict], png_path: str, eval_doc: dict | None = None, source: Any = None) -> str:
    """Write :func:`run_figure` to ``png_path``; with ``source``, the PNG records the data's SHA-256.

    Args:
        rows: ``metrics.jsonl`` rows.
        png_path: where the PNG goes.
        eval_doc: the run's ``eval.json``, or None.
        source: the JSON document the figure was drawn from (its hash goes into the PNG), or None.

    Returns:
        ``png_path``.
    """
    return save_figure(run_figure(rows, eval_doc), png_path, source)


def plot_run(metrics_path: str, png_path: str, eval_path: str | None = None) -> str:
    """Draw a run's figure from ``metrics.jsonl`` (and ``eval.json`` when given); returns ``png_path``.

    Args:
        metrics_path: the run's ``metrics.jsonl``.
        png_path: where the PNG goes.
        eval_path: the run's ``eval.json``, or None for no held-out panel.

    Returns:
        ``png_path``.

    Example:
        >>> plot_run("outputs/demo/metrics.jsonl", "outputs/demo/reward_curves.png")  # doctest: +SKIP
        'outputs/demo/reward_curves.png'
    """
    eval_doc = None
    if eval_path and os.path.exists(eval_path):
        with open(eval_path) as fh:
            eval_doc = json.load(fh)
    return draw_run(read_metrics(metrics_path), png_path, eval_doc)


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

    The PNG records the SHA-256 of ``doc`` (the JSON written next to it).

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
        f"n = {c.get('heldout_n')} held-out prompts; 95% CI: bootstrap over seeds, then "
        f"{doc.get('cluster_unit', 'skeleton')}s, then prompts",
        fontsize=10,
    )
    fig.tight_layout()
    return save_figure(fig, png_path, doc)
