#!/usr/bin/env python
"""Render the result tables of README.md, docs/training.md, docs/ablation.md and docs/analysis.md from the JSON here.

    python docs/results/render.py          # rewrite the marked sections in place
    python docs/results/render.py --check  # exit 1 when a page or a figure is out of date

Each table sits between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` in its page; nothing else is touched.
A missing result JSON, page or marked section is an error (exit 2), never skipped. Every committed figure
(:data:`FIGURES`) is drawn by the command that writes its JSON and records that JSON's SHA-256; ``--check``
also fails when a figure's hash is not its JSON's (the figure is stale: rerun that command).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.dirname(HERE)
sys.path.insert(0, os.path.dirname(DOCS))  # the checkout's own extensions package


class RenderError(Exception):
    """A result JSON, a page or a marked section is missing."""


def _load(name: str) -> dict:
    path = os.path.join(HERE, name)
    if not os.path.exists(path):
        raise RenderError(f"missing result file docs/results/{name}")
    with open(path) as fh:
        return json.load(fh)


def _f(v: object, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _ci(cell: dict) -> str:
    lo, hi = cell.get("ci95") or (None, None)
    return f"{_f(cell.get('mean', cell.get('diff')))} [{_f(lo)}, {_f(hi)}]"


def _gain(g: dict | None) -> str:
    return "–" if not g else f"{_f(g['diff'])} [{_f(g['ci95'][0])}, {_f(g['ci95'][1])}]"


def _exec(e: dict, phase: str) -> str:
    return _f((e.get(phase) or {}).get("exec_match"))


def _gb(mb: object) -> str:
    return "–" if mb is None else f"{mb / 1024:.1f} GiB"


def _unseen(e: dict) -> str:
    u = e.get("unseen_skeleton")
    if not u:
        return "–"
    return f"{_f(u.get('before'))} → {_f(u.get('after_sft'))} → {_f(u.get('after'))} (n={u['n']})"


def _peak(r: dict) -> object:
    return r.get("peak_rss_mb") or (r["eval"].get("resources") or {}).get("peak_rss_mb")


def demo_table(doc: dict) -> str:
    lines = [
        (
            "| seed | exec match: base → after SFT → after GRPO | unseen skeleton only | gain base → after [95% CI] "
            "| GRPO alone: after SFT → after [95% CI] | hallucination rate: base → after "
            "| CPU s | wall s | peak RSS | threads | load avg |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["runs"]:
        e = r["eval"]
        hall = f"{_f((e.get('before') or {}).get('hallucination_rate'))} → {_f(e['after']['hallucination_rate'])}"
        threads = (e.get("resources") or {}).get("threads")
        lines.append(
            f"| {r['seed']} | {_exec(e, 'before')} → {_exec(e, 'after_sft')} → {_exec(e, 'after')} "
            f"| {_unseen(e)} | {_gain(e.get('exec_match_gain'))} | {_gain(e.get('grpo_gain'))} | {hall} "
            f"| {_f(r.get('cpu_s'), 0)} | {_f(r.get('wall_s'), 0)} | {_gb(_peak(r))} | {_f(threads)} "
            f"| {' → '.join(map(str, r.get('load_avg', [])))} |"
        )
    for r in doc["runs"]:
        g = r.get("grpo")
        if g:
            lines.append(
                f"\nSeed {r['seed']}, during its {g['steps']} GRPO steps (means over steps): "
                f"sampled exec match "
                f"{_f(g['sampled_exec_match'])}, share of groups whose rewards are all equal (no gradient) "
                f"{_f(g['frac_reward_zero_std'])}, reward std within the batch {_f(g['reward_std'])}."
            )
    e = doc["runs"][0]["eval"]
    lines.append("")
    lines.append(
        f'Model {e.get("model")}; n = {e["n"]} held-out prompts, {e["decoding"]} decoding; "unseen '
        'skeleton only": the held-out prompts whose SQL skeleton no training prompt has; intervals: '
        f"{(e.get('exec_match_gain') or {}).get('method', '–')}. Command: `{doc['command']}`; measured as "
        f"`{doc.get('measured_with', doc['command'])}` on a machine with {doc.get('cpu_count')} cores "
        "(load average at start → end of the run in the table; the run itself adds about its threads)."
    )
    if doc.get("note"):
        lines.append(f"While it ran: {doc['note']}.")
    return "\n".join(lines)


def _busy_label(doc: dict) -> str:
    n = doc.get("busy_processes") or 0
    busy = (doc["runs"][0]["eval"].get("resources") or {}).get("busy_cores_at_start")
    what = f"beside a job of {n} busy processes" if n else "no busy job added"
    return f"{what} ({_f(busy, 1)} cores busy at start)"


def busy_table(quiet: dict, busy: dict) -> str:
    """The demo as first measured and beside a job of busy processes: threads, CPU, wall, memory, outcome."""
    lines = [
        "| run | threads | CPU s | wall s | peak RSS | load avg | held-out exec match after GRPO |",
        "|---|---|---|---|---|---|---|",
    ]
    for doc in (quiet, busy):
        r = doc["runs"][0]
        threads = (r["eval"].get("resources") or {}).get("threads")
        load = " → ".join(map(str, r.get("load_avg", [])))
        lines.append(
            f"| {_busy_label(doc)} | {_f(threads)} | {_f(r['cpu_s'], 0)} | {_f(r['wall_s'], 0)} "
            f"| {_gb(_peak(r))} | {load} | {_exec(r['eval'], 'after')} |"
        )
    q, b = quiet["runs"][0], busy["runs"][0]
    note = busy.get("note", "")
    lines.append(
        f"\nWith the job ÷ without: wall {b['wall_s'] / q['wall_s']:.2f}×, "
        f"CPU {b['cpu_s'] / q['cpu_s']:.2f}×. {note[:1].upper() + note[1:]}. "
        f"Autogroup scheduling: {busy.get('autogroup')}. Command: `python docs/results/collect_demo.py "
        f"--seeds {b['seed']} --busy {busy.get('busy_processes')} --json docs/results/demo_busy.json "
        '--figure ""`.'
    )
    return "\n".join(lines)


def readme_demo_table(doc: dict) -> str:
    lines = [
        (
            "| seed | held-out exec match: base → after SFT → after GRPO | unseen skeleton only "
            "| base → after [95% CI] | after SFT → after GRPO [95% CI] | wall s (2 cores) | peak memory |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for r in doc["runs"]:
        e = r["eval"]
        lines.append(
            f"| {r['seed']} | {_exec(e, 'before')} → {_exec(e, 'after_sft')} → {_exec(e, 'after')} "
            f"| {_unseen(e)} | {_gain(e.get('exec_match_gain'))} | {_gain(e.get('grpo_gain'))} "
            f"| {_f(r.get('wall_s'), 0)} | {_gb(_peak(r))} |"
        )
    e = doc["runs"][0]["eval"]
    lines.append(
        f'\n{e.get("model")}, n = {e["n"]} held-out prompts ({e["decoding"]}); "unseen skeleton only": '
        "those whose SQL skeleton no training prompt has; paired bootstrap over prompts; peak memory: the "
        "largest resident set of the run's processes; see docs/training.md for CPU time and load."
    )
    return "\n".join(lines)


def _paired_cell(cell: dict | None) -> str:
    if not cell:
        return "–"
    a, b = cell.get("discordant", ["–", "–"])
    return (
        f"{_ci(cell)}, p = {_f(cell['p'], 3)} ({a} vs {b} discordant; design effect {_f(cell.get('design_effect'), 1)})"
    )


def ablation_table(doc: dict) -> str:
    lines = [
        (
            "| arm | seeds | held-out exec match [95% CI] | hallucination rate [95% CI] "
            "| groups with no signal (mean over steps, per seed) | CPU h |"
        ),
        "|---|---|---|---|---|---|",
    ]
    for arm, res in doc["arms"].items():
        zs = ", ".join(_f(v, 2) for v in res["per_seed"]["zero_std_group_frac"])
        lines.append(
            f"| {arm} | {len(res['seeds'])} | {_ci(res['exec_match'])} "
            f"| {_ci(res['hallucination_rate'])} | {zs} | {_f((res.get('cpu_s') or 0) / 3600, 2)} |"
        )
    base = doc.get("base_model")
    if base:
        m = base["metrics"]
        lines.append(f"| base model, no training | – | {_f(m['exec_match'])} | {_f(m['hallucination_rate'])} | – | – |")
    lines += [
        "",
        "Paired against `baseline` on the seeds both finished (difference [95% CI], p):",
        "",
        "| arm | exec match | hallucination rate |",
        "|---|---|---|",
    ]
    hall = doc.get("paired_vs_baseline_hallucinated", {})
    for arm, cell in doc["paired_vs_baseline"].items():
        lines.append(f"| {arm} | {_paired_cell(cell)} | {_paired_cell(hall.get(arm))} |")
    if not doc["paired_vs_baseline"]:
        lines.append("| – | no seed has finished both `baseline` and a shaped arm yet | – |")
    c = doc["config"]
    method = next(iter(doc["paired_vs_baseline"].values()), {}).get("method", "–")
    lines += [
        "",
        f"Model {doc['model']}; {c.get('steps')} GRPO steps per arm after {c.get('sft_warmup')} SFT steps "
        f"per seed; n = {c['heldout_n']} held-out prompts on {len(set(doc['prompt_db_ids']))} databases never "
        f"trained on ({c['decoding']}); {_f(doc.get('cpu_hours'), 2)} CPU hours. "
        f"`sft_only` is each seed's SFT checkpoint without GRPO. Cluster unit: {doc['cluster_unit']}. "
        f"Method: {method}. Progress: {_progress(doc)}.",
        "",
        _per_database(doc),
        "",
        _findings(doc),
        "",
        _verdict(doc),
    ]
    return "\n".join(lines)


def _direction(cell: dict, more: str, less: str) -> str:
    """``more``/``less`` when the 95% interval excludes 0, else that no difference was shown."""
    lo, hi = cell["ci95"]
    return more if lo > 0 else less if hi < 0 else "no difference shown (the interval includes 0)"


def _seed_mean(res: dict, key: str, digits: int = 2) -> str:
    vals = [v for v in res["per_seed"].get(key) or [] if v is not None]
    return _f(sum(vals) / len(vals), digits) if vals else "–"


def _findings(doc: dict) -> str:
    """What the numbers above say, each sentence with its figure (words follow the intervals, not hopes)."""
    arms, paired = doc["arms"], doc["paired_vs_baseline"]
    hall = doc.get("paired_vs_baseline_hallucinated", {})
    when = "" if doc["progress"]["complete"] else " so far"
    lines = [f"What the numbers say{when} (means over seeds; differences paired against `baseline`):", ""]
    shaped = _shaped_arms(doc)
    if "baseline" in arms:
        zero = ", ".join(f"`{a}` {_seed_mean(arms[a], 'zero_std_group_frac')}" for a in ["baseline", *shaped])
        lines.append(f"* **Reward signal.** Share of GRPO groups with no reward variance: {zero}.")
    for arm in shaped:
        lines.append(
            f"* **`{arm}`, held-out exec match:** {_paired_p(paired[arm])}: "
            f"{_direction(paired[arm], 'higher than baseline', 'lower than baseline')}."
        )
        if arm in hall:
            lines.append(
                f"* **`{arm}`, hallucination rate:** {_paired_p(hall[arm])}: "
                f"{_direction(hall[arm], 'hallucinates more than baseline', 'hallucinates less than baseline')}."
            )
    if "sft_only" in paired:
        sft, sft_hall = paired["sft_only"], hall.get("sft_only")
        lines.append(
            f"* **GRPO against its SFT start** (`sft_only` minus `baseline`), exec match {_paired_p(sft)}: "
            f"{_direction(sft, 'GRPO lowered it', 'GRPO raised it')}; hallucination rate {_paired_p(sft_hall)}"
            + (f": {_direction(sft_hall, 'GRPO lowered it', 'GRPO raised it')}." if sft_hall else ".")
        )
    for key, label in (("syntax_error_rate", "Syntax error rate"), ("structural_f1", "Structural F1")):
        sides = "; ".join(f"`{a}` {side}" for a in shaped if (side := _seed_side(doc, a, key)))
        lines.append(
            f"* **{label}:** "
            + ", ".join(f"`{a}` {_seed_mean(r, key, 3)}" for a, r in arms.items())
            + (f"; {sides}" if sides else "")
            + "."
        )
    return "\n".join(lines)


def _shaped_arms(doc: dict) -> list[str]:
    """The arms compared with ``baseline`` other than ``sft_only`` (the shaping arms)."""
    return [a for a in doc["paired_vs_baseline"] if a not in ("baseline", "sft_only")]


def _seed_side(doc: dict, arm: str, key: str, *, short: bool = False) -> str:
    """``arm`` against baseline seed by seed on a metric kept per seed only (empty when not collected)."""
    cell = (doc.get("seed_level_vs_baseline", {}).get(arm) or {}).get(key)
    if not cell:
        return ""
    n = len(cell["seeds"])
    side = (
        f"higher than `baseline` in {cell['higher']} of {n} seeds and lower in {cell['lower']}, p = {_f(cell['p'], 3)}"
    )
    return side if short else f"{side} (sign-flip test over seeds; {n} seeds allow no p below {_f(2 / 2**n, 3)})"


def _per_database(doc: dict) -> str:
    dbs = list(dict.fromkeys(doc["prompt_db_ids"]))
    lines = [
        "Held-out exec match per database (mean over seeds):",
        "",
        "| arm | " + " | ".join(f"{d} ({doc['prompt_db_ids'].count(d)})" for d in dbs) + " |",
        "|---|" + "---|" * len(dbs),
    ]
    for arm, seeds in doc["per_prompt"].items():
        cells = []
        for d in dbs:
            idx = [i for i, x in enumerate(doc["prompt_db_ids"]) if x == d]
            vals = [s["exec_match"][i] for s in seeds.values() for i in idx]
            cells.append(_f(sum(vals) / len(vals)))
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _progress(doc: dict) -> str:
    """How many planned (arm, seed) GRPO runs have finished, and which."""
    prog = doc["progress"]
    done = sum(len(s) for s in prog["finished"].values())
    planned = sum(len(s) for s in prog["planned"].values())
    which = "; ".join(f"`{a}` seeds {', '.join(map(str, s)) or 'none'}" for a, s in prog["finished"].items())
    state = "all finished" if prog["complete"] else "still running"
    return f"{done} of {planned} (arm, seed) GRPO runs finished ({which}; {state})"


def _verdict(doc: dict) -> str:
    v = doc.get("verdict") or {}
    what = {
        None: "no verdict yet (too few seeds)",
        "plain": "the plain execution preset (shaping opt-in)",
        "shaped": f"the `{v.get('arm')}` arm",
    }[v.get("default")]
    return f"**Verdict: {what}.** Rule: {v.get('rule', '–')}."


def pilot_table(doc: dict) -> str:
    lines = [
        "| arm | groups with zero reward variance | groups mixing right and wrong | mean reward |",
        "|---|---|---|---|",
    ]
    for arm, r in doc["arms"].items():
        lines.append(f"| {arm} | {_f(r['zero_variance_share'])} | {_f(r['mixed_share'])} | {_f(r['mean_reward'])} |")
    lines.append(
        f"\n{doc['prompts']} training prompts x {doc['group_size']} completions sampled once from seed "
        f"{doc['seed']}'s SFT checkpoint, each completion scored by every arm's training reward; "
        f"{_f(doc['cpu_s'] / 60, 1)} CPU minutes; commit {doc['provenance']['commit'][:7]}."
    )
    return "\n".join(lines)


def readme_ablation_table(doc: dict) -> str:
    lines = [
        (
            "| arm | seeds | held-out exec match [95% CI] | hallucination rate [95% CI] | groups with no reward "
            "variance | exec match minus baseline [95% CI], p | hallucination minus baseline [95% CI], p |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    hall = doc.get("paired_vs_baseline_hallucinated", {})
    for arm, res in doc["arms"].items():
        lines.append(
            f"| {arm} | {len(res['seeds'])} | {_ci(res['exec_match'])} | {_ci(res['hallucination_rate'])} | "
            f"{_seed_mean(res, 'zero_std_group_frac')} | {_paired_p(doc['paired_vs_baseline'].get(arm))} | "
            f"{_paired_p(hall.get(arm))} |"
        )
    base = doc.get("base_model")
    if base:
        m = base["metrics"]
        lines.append(
            f"| base model, no training | – | {_f(m['exec_match'])} | {_f(m.get('hallucination_rate'))} | – | – | – |"
        )
    c = doc["config"]
    lines.append(
        f"\n{doc['model']} on Spider databases never trained on (n = {c['heldout_n']} questions, "
        f"{len(set(doc['prompt_db_ids']))} databases); {_progress(doc)}; cluster "
        f"bootstrap over seeds, databases and prompts; a difference is paired on the seeds both arms finished. "
        f"{_shown(doc)}{_verdict(doc)} Details: docs/ablation.md."
    )
    return "\n".join(lines)


def _shown(doc: dict) -> str:
    """One sentence per shaped arm for the README: its exec match, reward signal and where it lost, from the JSON."""
    out = []
    for arm in _shaped_arms(doc):
        cell, res, base = doc["paired_vs_baseline"][arm], doc["arms"][arm], doc["arms"]["baseline"]
        lost = [
            f"{label} {_seed_mean(res, key, 3)} against {_seed_mean(base, key, 3)}, {side}"
            for key, label in (("syntax_error_rate", "syntax errors"), ("structural_f1", "structural F1"))
            if (side := _seed_side(doc, arm, key, short=True))
        ]
        out.append(
            f"`{arm}` left {_seed_mean(res, 'zero_std_group_frac')} of GRPO groups without reward variance "
            f"(`baseline` {_seed_mean(base, 'zero_std_group_frac')}); held-out exec match: "
            f"{_direction(cell, 'higher than baseline', 'lower than baseline')}"
            + (f"; {'; '.join(lost)}. " if lost else ". ")
        )
    return "".join(out)


def _paired_p(cell: dict | None) -> str:
    return f"{_ci(cell)}, p = {_f(cell['p'], 3)}" if cell else "–"


def analysis_table(doc: dict) -> str:
    from extensions.cli.analyze import table

    return table(doc) + f"\n\n{doc['n_groups']} groups, {doc['n_completions']} completions."


def _busy_section(quiet: dict) -> str:
    return busy_table(quiet, _load("demo_busy.json"))


SECTIONS = {
    ("../README.md", "readme-demo"): ("demo_eval.json", readme_demo_table),
    ("training.md", "demo-busy"): ("demo_eval.json", _busy_section),
    ("../README.md", "readme-ablation"): ("ablation_spider.json", readme_ablation_table),
    ("training.md", "demo"): ("demo_eval.json", demo_table),
    ("ablation.md", "ablation-spider"): ("ablation_spider.json", ablation_table),
    ("ablation.md", "pilot-spider"): ("ablation_spider/pilot.json", pilot_table),
    ("analysis.md", "spider"): ("spider_analysis.json", analysis_table),
}

# Results a long run writes when it gets there: until then their section says so (no numbers).
PENDING = {
    "ablation_spider/pilot.json": (
        "*Not measured yet: the pilot runs in the first ablation process after seed 0's SFT warm-up and writes "
        "docs/results/ablation_spider/pilot.json.*"
    ),
}


def _section(src: str, fn: Callable[[dict], str]) -> str:
    if src in PENDING and not os.path.exists(os.path.join(HERE, src)):
        return PENDING[src]
    return fn(_load(src))


# Every committed figure and the JSON it is drawn from (the command that writes the JSON draws the figure).
FIGURES = {
    "demo_reward_curves.png": "demo_eval.json",  # docs/results/collect_demo.py
    "ablation_spider.png": "ablation_spider.json",  # python -m extensions.ablation --collect (ablation_report.write)
    "spider_analysis.png": "spider_analysis.json",  # python -m extensions.analyze
}


def stale_figures() -> list[str]:
    """The committed figures whose recorded source hash is not their JSON's (or that record none).

    Raises:
        RenderError: a figure or its JSON is missing.
    """
    from extensions._util.figure import png_source_hash, source_hash

    stale = []
    for png, src in FIGURES.items():
        if not os.path.exists(os.path.join(HERE, png)):
            raise RenderError(f"missing figure docs/results/{png}")
        if png_source_hash(os.path.join(HERE, png)) != source_hash(_load(src)):
            stale.append(f"docs/results/{png} (not drawn from docs/results/{src})")
    return stale


def render_page(text: str, name: str, table: str) -> str:
    """``text`` with the section between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` replaced by ``table``.

    Raises:
        RenderError: the page has no such section.
    """
    pattern = re.compile(rf"(<!-- BEGIN {re.escape(name)} -->\n).*?(<!-- END {re.escape(name)} -->)", re.DOTALL)
    if not pattern.search(text):
        raise RenderError(f"missing marked section <!-- BEGIN {name} --> ... <!-- END {name} -->")
    return pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text)


def render(check: bool) -> int:
    """Rewrite (or, with ``check``, compare) every marked section; 1 when ``check`` finds one stale, 2 on an error.

    Every section is rendered before any page is written, so an error leaves all pages as they were.
    """
    pages: dict[str, str] = {}
    try:
        for (page, name), (src, fn) in SECTIONS.items():
            path = os.path.join(DOCS, page)
            if path not in pages:
                if not os.path.exists(path):
                    raise RenderError(f"missing page {os.path.relpath(path, os.path.dirname(DOCS))}")
                with open(path) as fh:
                    pages[path] = fh.read()
            try:
                pages[path] = render_page(pages[path], name, _section(src, fn))
            except RenderError as exc:
                raise RenderError(f"{page}: {exc}") from exc
        figures = stale_figures()
    except RenderError as exc:
        print(f"render.py: error: {exc}", file=sys.stderr)
        return 2
    for fig in figures:
        print(f"out of date: {fig}; rerun the command that writes its JSON")
    stale = len(figures) if check else 0
    for path, new in pages.items():
        with open(path) as fh:
            if fh.read() == new:
                continue
        stale += 1
        print(f"{'out of date' if check else 'updated'}: {os.path.relpath(path, os.path.dirname(DOCS))}")
        if not check:
            with open(path, "w") as fh:
                fh.write(new)
    return 1 if check and stale else 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true")
    sys.exit(render(p.parse_args().check))
