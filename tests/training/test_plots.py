"""The run figure shows only what was measured, with labels that never overlap, and names its source data."""

from __future__ import annotations

import itertools

from tests.conftest import require

require("matplotlib")

from extensions._util.figure import png_source_hash, source_hash  # noqa: E402
from extensions.training.plots import draw_run, plotted_keys, run_figure  # noqa: E402

EVAL = {
    "n": 64,
    "decoding": "greedy",
    "before": {"exec_match": 0.031, "format_ok": 0.5, "syntax_error_rate": 0.141, "hallucination_rate": 0.219},
    "after_sft": {"exec_match": 0.672, "format_ok": 1.0, "syntax_error_rate": 0.0, "hallucination_rate": 0.062},
    "after": {"exec_match": 0.656, "format_ok": 1.0, "syntax_error_rate": 0.0, "hallucination_rate": 0.062},
    "unseen_skeleton": {"n": 20, "before": 0.0, "after_sft": 0.5, "after": 0.55},
}


def _rows(steps=8, kl=False):
    rows = []
    for s in range(1, steps + 1):
        row = {"step": s}
        for key in plotted_keys()[1:]:
            row[key] = 0.1 * (s % 3) if key.endswith("/std") else 0.5 + 0.01 * s
        row.pop("kl")
        if kl:
            row["kl"] = 0.001 * s
        rows.append(row)
    return rows


def _texts(fig):
    """(name, bbox) of every visible title, axis label, tick label, bar label and legend of the figure."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    out = []
    for i, ax in enumerate(fig.axes):
        for name, t in [("title", ax.title), ("xlabel", ax.xaxis.label), ("ylabel", ax.yaxis.label)]:
            if t.get_text():
                out.append((f"ax{i} {name} {t.get_text()!r}", t.get_window_extent(r)))
        for t in ax.texts:
            out.append((f"ax{i} bar label {t.get_text()!r}", t.get_window_extent(r)))
        for axis, (lo, hi) in ((ax.xaxis, sorted(ax.get_xlim())), (ax.yaxis, sorted(ax.get_ylim()))):
            for tick in axis.get_major_ticks():
                t = tick.label1
                if t.get_text() and t.get_visible() and lo <= tick.get_loc() <= hi:  # drawn ticks only
                    out.append((f"ax{i} tick {t.get_text()!r}", t.get_window_extent(r)))
        if ax.get_legend():
            out.append((f"ax{i} legend", ax.get_legend().get_window_extent(r)))
    return out


def _overlaps(a, b):
    return a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5


def test_no_two_labels_of_the_run_figure_overlap():
    fig = run_figure(_rows(), EVAL)
    texts = _texts(fig)
    clashes = [(a, b) for (a, ba), (b, bb) in itertools.combinations(texts, 2) if _overlaps(ba, bb)]
    assert not clashes, clashes[:5]
    labels = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert labels.count("0.656") == 1 and "1.000" in labels  # every bar has its own label


def test_kl_gets_a_panel_only_when_it_was_measured():
    titles = [ax.get_title() for ax in run_figure(_rows(kl=False), EVAL).axes]
    assert "KL to reference" not in titles
    titles = [ax.get_title() for ax in run_figure(_rows(kl=True), EVAL).axes]
    assert "KL to reference" in titles


def test_the_headline_shows_every_step_unsmoothed_with_a_band():
    rows = _rows()
    fig = run_figure(rows, EVAL)
    head = fig.axes[0]
    lines = [ln for ln in head.get_lines() if ln.get_label() == "total reward"]
    assert list(lines[0].get_ydata()) == [r["rewards/sql_reward/mean"] for r in rows]
    assert head.collections, "the ± 1 std band"


def test_the_unseen_skeleton_exec_match_has_its_own_bars():
    fig = run_figure(_rows(), EVAL)
    ticks = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert "exec match,\nunseen skeleton (n=20)" in ticks


def test_the_png_records_the_hash_of_its_source(tmp_path):
    doc = {"rows": _rows(2), "eval": EVAL}
    png = draw_run(doc["rows"], str(tmp_path / "fig.png"), doc["eval"], source=doc)
    assert png_source_hash(png) == source_hash(doc)
    assert png_source_hash(draw_run(doc["rows"], str(tmp_path / "plain.png"))) is None


def test_a_share_s_band_stays_within_zero_and_one():
    rows = [{"step": s, "rewards/acc/mean": 0.1, "rewards/acc/std": 0.5} for s in (1, 2, 3)]
    fig = run_figure(rows, None)
    band = fig.axes[0].collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() >= 0.0 and band.max() <= 1.0
