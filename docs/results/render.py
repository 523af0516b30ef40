#!/usr/bin/env python
"""Render the result tables of README.md, docs/training.md, docs/ablation.md and docs/analysis.md from the JSON here.

    python docs/results/render.py          # rewrite the marked sections in place
    python docs/results/render.py --check  # exit 1 when a page is out of date

Each table sits between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` in its page; nothing else is touched.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.dirname(HERE)
sys.path.insert(0, os.path.dirname(DOCS))  # the checkout's own extensions package


def _load(name: str) -> dict | None:
    path = os.path.join(HERE, name)
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return json.load(fh)


def _f(v: object, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _ci(cell: dict) -> str:
    lo, hi = cell.get("ci95") or (None, None)
    return f"{_f(cell.get('mean', cell.get('diff')))} [{_f(lo)}, {_f(hi)}]"


def demo_table(doc: dict) -> str:
    runs = doc["runs"]
    keys = ("exec_match", "format_ok", "syntax_error_rate", "hallucination_rate")
    lines = ["| seed | " + " | ".join(f"{k} before → after" for k in keys) + " | exec gain [95% CI over prompts] | CPU s | wall s |",
             "|---|" + "---|" * (len(keys) + 3)]
    for r in runs:
        e = r["eval"]
        cells = [f"{_f(e['before'][k])} → {_f(e['after'][k])}" for k in keys]
        g = e["exec_match_gain"]
        lines.append(f"| {r['seed']} | " + " | ".join(cells) + f" | {_f(g['diff'])} [{_f(g['ci95'][0])}, {_f(g['ci95'][1])}] "
                     f"| {_f(r.get('cpu_s'), 0)} | {_f(r.get('wall_s'), 0)} |")
    gains = [r["eval"]["exec_match_gain"]["diff"] for r in runs]
    lines.append("")
    lines.append(f"n = {runs[0]['eval']['n']} held-out prompts, {runs[0]['eval']['decoding']} decoding; "
                 f"mean exec-match gain over {len(gains)} seeds: {_f(sum(gains) / len(gains))} "
                 f"(min {_f(min(gains))}, max {_f(max(gains))}). Command: `{doc['command']}`")
    return "\n".join(lines)


def ablation_table(doc: dict) -> str:
    metrics = ("exec_match", "hallucination_rate", "syntax_error_rate", "structural_f1", "zero_std_group_frac")
    lines = ["| arm | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for arm, res in doc["arms"].items():
        lines.append(f"| {arm} | " + " | ".join(_ci(res[m]) for m in metrics) + " |")
    lines += ["", "Paired difference against the baseline arm on the same seed (mean [95% CI], sign-flip p):", "",
              "| arm | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for arm, res in doc["paired_vs_baseline"].items():
        lines.append(f"| {arm} | " + " | ".join(f"{_ci(res[m])} p={_f(res[m]['p'], 2)}" for m in metrics) + " |")
    c = doc["config"]
    lines.append("")
    lines.append(f"{len(c['seeds'])} seeds, {c['steps']} GRPO steps per arm after {c['sft_warmup']} SFT steps per seed, "
                 f"n = {c['heldout_n']} held-out prompts ({c['decoding']}). Test: {c['test']}.")
    return "\n".join(lines)


def analysis_table(doc: dict) -> str:
    from extensions.cli.analyze import table

    return table(doc) + f"\n\n{doc['n_groups']} groups, {doc['n_completions']} completions."


def readme_demo_table(doc: dict) -> str:
    runs = doc["runs"]
    lines = ["| seed | held-out exec match, before → after GRPO | gain [95% CI over prompts] |", "|---|---|---|"]
    for r in runs:
        e, g = r["eval"], r["eval"]["exec_match_gain"]
        lines.append(f"| {r['seed']} | {_f(e['before']['exec_match'])} → {_f(e['after']['exec_match'])} "
                     f"| {_f(g['diff'])} [{_f(g['ci95'][0])}, {_f(g['ci95'][1])}] |")
    gains = [r["eval"]["exec_match_gain"]["diff"] for r in runs]
    lines.append(f"\nMean gain over {len(gains)} seeds: {_f(sum(gains) / len(gains))}; n = {runs[0]['eval']['n']} held-out prompts.")
    return "\n".join(lines)


def readme_ablation_table(doc: dict) -> str:
    metrics = ("exec_match", "hallucination_rate", "zero_std_group_frac")
    lines = ["| arm | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for arm, res in doc["arms"].items():
        lines.append(f"| {arm} | " + " | ".join(_f(res[m]["mean"]) for m in metrics) + " |")
    lines.append(f"\nMeans over {len(doc['config']['seeds'])} seeds; `zero_std_group_frac` is the share of GRPO groups "
                 "whose rewards are all equal (no gradient).")
    return "\n".join(lines)


SECTIONS = {
    ("../README.md", "readme-demo"): ("demo_eval.json", readme_demo_table),
    ("../README.md", "readme-ablation"): ("ablation.json", readme_ablation_table),
    ("training.md", "demo"): ("demo_eval.json", demo_table),
    ("ablation.md", "ablation"): ("ablation.json", ablation_table),
    ("analysis.md", "spider"): ("spider_analysis.json", analysis_table),
}


def render(check: bool) -> int:
    stale = 0
    for (page, name), (src, fn) in SECTIONS.items():
        doc, path = _load(src), os.path.join(DOCS, page)
        if doc is None or not os.path.exists(path):
            continue
        text = open(path).read()
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        new = pattern.sub(lambda m: m.group(1) + fn(doc) + "\n" + m.group(2), text)
        if new != text:
            stale += 1
            if not check:
                open(path, "w").write(new)
                print(f"updated {page} [{name}]")
    return 1 if check and stale else 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true")
    sys.exit(render(p.parse_args().check))
