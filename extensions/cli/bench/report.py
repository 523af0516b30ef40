"""``bench report FILE...``: the markdown tables of docs/benchmarks.md, from the JSON that ``bench`` wrote.

>>> print(speedup_cell({"speedup": 8.04, "speedup_per_round": [6.8, 9.1]}))
8.0× (6.8–9.1)
"""

from __future__ import annotations

import os
from typing import Any

from extensions.cli.inputs import parse_json, read_text

DATASETS = {
    "bundled": "bundled demo (4 small DBs)",
    "spider": "Spider dev (19 DBs)",
    "heavy": "heavy BIRD-like (1.2M rows)",
}
COLUMNS = [
    ("hook_async_engine_only", "hook async, engine-only"),
    ("hook_async_shaping", "hook async, all shaping"),
    ("engine", "engine, 6 threads"),
    ("engine_async", "engine, async"),
    ("engine_batch", "engine, batch"),
    ("enhanced", "enhanced, 6 threads"),
    ("enhanced_async", "enhanced, async"),
    ("enhanced_batch", "enhanced, batch"),
    ("hook_async_engine_only_vm_steps", "hook async, engine-only, --max-vm-steps"),
    ("engine_async_vm_steps", "engine, async, --max-vm-steps"),
]


def speedup_cell(c: dict) -> str:
    """``8.0× (6.8–9.1)``: the median run's speed-up and the range over the rounds."""
    rounds = c.get("speedup_per_round") or []
    spread = f" ({min(rounds):.1f}–{max(rounds):.1f})" if len(rounds) > 1 else ""
    return f"{c['speedup']:.1f}×{spread}"


def _results(runs: list[tuple[str, dict]]) -> list[tuple[str, str, dict]]:
    """``(dataset title, run name, result)`` for every dataset of every run that has callers."""
    return [
        (title, name, doc["engine"][key])
        for key, title in DATASETS.items()
        for name, doc in runs
        if "callers" in doc.get("engine", {}).get(key, {})
    ]


def _columns(results: list[tuple[str, str, dict]]) -> list[tuple[str, str]]:
    """The caller columns some result has (callers such as the VM-step budget ones are optional)."""
    return [(k, h) for k, h in COLUMNS if any(k in r["callers"] for _, _, r in results)]


def speedup_table(runs: list[tuple[str, dict]]) -> list[str]:
    """Speed-up over the reference per dataset and run file, every caller a column."""
    results = _results(runs)
    cols = _columns(results)
    lines = ["| database, run | reference | " + " | ".join(h for _, h in cols) + " |", "|---" * (len(cols) + 2) + "|"]
    for title, name, r in results:
        rounds = f"{r['repeats']} round" + ("s" if r["repeats"] != 1 else "")
        cells = [f"{r['callers']['reference']['throughput_per_s']:,.0f}/s"]
        cells += [speedup_cell(r["callers"][k]) if k in r["callers"] else "–" for k, _ in cols]
        lines.append(f"| {title}, {name} ({r['samples']} rollouts, {rounds}) | " + " | ".join(cells) + " |")
    return lines


def overhead_table(runs: list[tuple[str, dict]]) -> list[str]:
    """Each caller's wall time over SQLite's own time on the distinct statements (``overhead_beyond_sqlite``)."""
    results = [x for x in _results(runs) if "sqlite_reference" in x[2]]
    cols = _columns(results)
    lines = [
        "| database, run | SQLite's own time | in the lane's sandbox | " + " | ".join(h for _, h in cols) + " |",
        "|---" * (len(cols) + 3) + "|",
    ]
    for title, name, r in results:
        ref = r["sqlite_reference"]
        cells = [
            f"{1000 * ref['total_s']:.1f} ms ({ref['statements']} statements)",
            f"{1000 * ref['sandbox_s']:.1f} ms",
        ]
        cells += [f"{r['callers'][k]['overhead_beyond_sqlite']:.1f}×" if k in r["callers"] else "–" for k, _ in cols]
        lines.append(f"| {title}, {name} | " + " | ".join(cells) + " |")
    return lines


def caller_cpu_table(runs: list[tuple[str, dict]]) -> list[str]:
    """The calling process's CPU milliseconds during each async caller's timed window (``caller_cpu_s``)."""
    results = [x for x in _results(runs) if any("caller_cpu_s" in c for c in x[2]["callers"].values())]
    cols = [(k, h) for k, h in _columns(results) if any("caller_cpu_s" in r["callers"].get(k, {}) for *_, r in results)]
    lines = ["| database, run | " + " | ".join(h for _, h in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for title, name, r in results:
        cells = [f"{1000 * r['callers'][k]['caller_cpu_s']:.0f} ms" if k in r["callers"] else "–" for k, _ in cols]
        lines.append(f"| {title}, {name} | " + " | ".join(cells) + " |")
    return lines


def agreement_line(runs: list[tuple[str, dict]]) -> str:
    """The lowest verdict agreement with the reference over every caller, dataset and round."""
    values = [
        c["verdict_agreement_vs_reference"]
        for _, doc in runs
        for k in DATASETS
        if "callers" in doc.get("engine", {}).get(k, {})
        for c in doc["engine"][k]["callers"].values()
    ]
    return (
        f"Lowest verdict agreement with the reference, over every caller, database and round: {min(values):.4f}."
        if values
        else ""
    )


def vm_lines(runs: list[tuple[str, dict]]) -> list[str]:
    """Which VM-step budget (``execution.max_vm_steps``) the callers ran with, where the run says."""
    lines = []
    for title, name, r in _results(runs):
        vm = r.get("max_vm_steps") or {}
        if vm.get("vm_steps_callers") is not None:
            lines.append(
                f"* {title}, {name}: the callers ran with max_vm_steps={vm['default']} (the default), the "
                f"`--max-vm-steps` columns with {vm['vm_steps_callers']} (0 = no budget)."
            )
    return lines


def runaway_table(runs: list[tuple[str, dict]]) -> list[str]:
    """Runaway statements: wall times, the bound, and the adaptive timeout."""
    lines = [
        "| database, run | reference | engine, 6 threads | engine, batch | bound | within | adaptive timeout "
        "| verdicts changed by adaptive |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, title in DATASETS.items():
        for name, doc in runs:
            w = doc.get("engine", {}).get(key, {}).get("runaways")
            if w:
                lines.append(
                    f"| {title}, {name} | {w['reference_wall_s']:.2f} s "
                    f"({w['reference_leaked_threads']} threads left running) | "
                    f"{w['engine_wall_s']:.2f} s | {w['batch_engine_wall_s']:.2f} s | {w['bound_s']:.2f} s | "
                    f"{'yes' if w['within_bound'] and w['batch_within_bound'] else 'NO'} | "
                    f"{w['adaptive']['engine_wall_s']:.2f} s | "
                    f"{w['adaptive']['verdicts_changed_vs_fixed']} |"
                )
    return lines


def memory_table(runs: list[tuple[str, dict]]) -> list[str]:
    """Total RSS (trainer process and workers) over a long many-database run."""
    lines = [
        "| run, mode | first sample | last sample | growth over the second half | calls | wall |",
        "|---|---|---|---|---|---|",
    ]
    for name, doc in runs:
        for mode, m in doc.get("memory", {}).items():
            lines.append(
                f"| {name}, {mode} | {m['total_rss_mb_first']:.1f} MB | {m['total_rss_mb_last']:.1f} MB | "
                f"{m['growth_second_half_mb']:.2f} MB | {m['calls']:,} | {m['wall_s']:.1f} s |"
            )
    return lines


def other_lines(runs: list[tuple[str, dict]]) -> list[str]:
    """One line each for the evaluation CLI, extraction and the schema detector."""
    lines = []
    for name, doc in runs:
        if "evaluate" in doc:
            e = doc["evaluate"]
            agree = (
                f", agreement with the official verdicts {e['agreement_with_official']:.4f}"
                if "agreement_with_official" in e
                else ""
            )
            lines.append(
                f"* {name}, evaluate: {e['predictions']:,} predictions ({e['source']}) in {e['wall_s']:.2f} s{agree}."
            )
        if "extract" in doc:
            x = doc["extract"]
            lines.append(
                f"* {name}, extract: {x['plain_1MB_ms']:.1f} ms for 1 MB, {x['plain_16MB_ms']:.1f} ms for 16 MB; "
                f"{x['repeated_tags_100000_ms']:.1f} ms for 100,000 repeated tags."
            )
        if "schema" in doc:
            o = doc["schema"]["overall"]
            lines.append(
                f"* {name}, schema detector ({doc['schema']['source']}, {doc['schema']['cases']:,} cases): "
                f"precision {o['precision']:.3f}, recall {o['recall']:.3f}."
            )
    return lines


PROFILED = [
    ("hook_async_engine_only", "hook, engine-only"),
    ("hook_async_shaping", "hook, all shaping"),
    ("engine_async", "engine, async"),
]


def profile_table(runs: list[tuple[str, dict]]) -> list[str]:
    """``bench profile`` runs side by side: each stage's share of the profiled wall time (calls in brackets)."""
    docs = [(name, doc["profile"]) for name, doc in runs if "profile" in doc]
    lines: list[str] = []
    for key, title in DATASETS.items():
        cols = [(c, h, name, p[key][c]) for c, h in PROFILED for name, p in docs if c in p.get(key, {})]
        if not cols:
            continue
        stages = list(dict.fromkeys(s for *_, c in cols for s in c["fractions"]))
        lines += [
            "",
            f"{title}:",
            "",
            "| stage | " + " | ".join(f"{h}, {name}" for _, h, name, _ in cols) + " |",
            "|---" * (len(cols) + 1) + "|",
        ]
        for st in stages:
            cells = [f"{100 * c['fractions'].get(st, 0.0):.1f}% ({c['calls'].get(st, 0):,})" for *_, c in cols]
            lines.append(f"| {st} | " + " | ".join(cells) + " |")
        lines.append("| wall time, profiled | " + " | ".join(f"{1000 * c['wall_s']:.0f} ms" for *_, c in cols) + " |")
        ratios = [f"{c['overhead_beyond_sqlite']:.1f}×" for *_, c in cols]
        lines.append("| ÷ SQLite's own time, same process | " + " | ".join(ratios) + " |")
    return lines[1:]


def instructions_table(runs: list[tuple[str, dict]]) -> list[str]:
    """``bench instructions`` runs side by side: millions of CPU instructions per caller (callgrind)."""
    lines = [
        "| database, run | " + " | ".join(h for _, h in PROFILED) + " | hook, engine-only ÷ engine, async |",
        "|---" * (len(PROFILED) + 2) + "|",
    ]
    for key, title in DATASETS.items():
        for name, doc in runs:
            r = doc.get("instructions", {}).get(key)
            if r:
                cells = [f"{r[c] / 1e6:,.0f}M" if c in r else "–" for c, _ in PROFILED]
                ratio = r.get("over_engine_async", {}).get("hook_async_engine_only")
                cells.append(f"{ratio:.2f}" if ratio is not None else "–")
                lines.append(f"| {title}, {name} | " + " | ".join(cells) + " |")
    return lines


def parts_table(runs: list[tuple[str, dict]]) -> list[str]:
    """``bench instructions --parts``: millions of instructions per piece of the callers' work."""
    from extensions.cli.bench.parts import PARTS

    lines = ["| database, run | " + " | ".join(PARTS) + " |", "|---" * (len(PARTS) + 1) + "|"]
    for key, title in DATASETS.items():
        for name, doc in runs:
            r = doc.get("instructions", {}).get(key, {})
            if any(p in r for p in PARTS):
                cells = [f"{r[p] / 1e6:,.0f}M" if p in r else "–" for p in PARTS]
                lines.append(f"| {title}, {name} | " + " | ".join(cells) + " |")
    return lines


def reliability_lines(runs: list[tuple[str, dict]]) -> list[str]:
    """``bench reliability``: the expensive-step battery, the tool's runaways and the tool's trainer memory."""
    lines: list[str] = []
    for name, doc in runs:
        r = doc.get("reliability")
        if not r:
            continue
        e = r["expensive"]
        singles = ", ".join(f"{s['wall_s']:.1f} s" for s in e["singles"])
        lines.append(
            f"* {name}, beside {e['busy']} busy processes: 3 expensive-step statements through `compute_score` "
            f"took {singles} ({', '.join(s['statuses'][0] for s in e['singles'])}), the batch of 8 through "
            f"`compute_score_batch` {e['batch']['wall_s']:.1f} s (bound {e['bounds']['batch_wall_s']:.0f} s; "
            f"{e['batch']['statuses'].count('timeout_cpu')} of 8 `timeout_cpu`); the calling thread's CPU: "
            f"at most {max(s['caller_cpu_s'] for s in e['singles']):.3f} s per single call and "
            f"{e['batch']['caller_cpu_s']:.3f} s for the batch (bound {e['bounds']['caller_cpu_s_per_statement']} s "
            f"per statement); bounds {'held' if e['held'] else 'NOT held'}."
        )
        m, b = r["tool_memory"], r.get("tool_memory_baseline")
        before = f"; the baseline package ({b['package']}): {b['peak_growth_mb']:.1f} MB" if b else ""
        lines.append(
            f"* {name}, tool memory: one call over 12 columns x 99,999 rows raised the trainer's peak RSS by "
            f"{m['peak_growth_mb']:.1f} MB{before} (answer footer `{m['answer_last_line']}`)."
        )
    rows = [(name, t) for name, doc in runs if doc.get("reliability") for t in doc["reliability"]["tool"]]
    if rows:
        lines += [
            "",
            "| run | tool query | busy processes | answer status | wall | workers' CPU | within limit + grace |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, t in rows:
            lines.append(
                f"| {name} | {t['query']} | {t['busy']} | {t['status']} | {t['wall_s']:.2f} s | {t['cpu_s']:.2f} s | "
                f"{'yes' if t['within_limit_plus_grace'] else 'NO'} |"
            )
    return lines


def render(paths: list[str]) -> str:
    """Markdown for the JSON files at ``paths`` (each from ``python -m extensions.bench ... --out FILE``)."""
    runs: list[tuple[str, Any]] = [
        (os.path.splitext(os.path.basename(p))[0], parse_json(p, read_text(p))) for p in paths
    ]
    parts = [
        speedup_table(runs),
        [agreement_line(runs)],
        overhead_table(runs),
        caller_cpu_table(runs),
        vm_lines(runs),
        runaway_table(runs),
        memory_table(runs),
        other_lines(runs),
        profile_table(runs),
        instructions_table(runs),
        parts_table(runs),
        reliability_lines(runs),
    ]
    return "\n\n".join("\n".join(p) for p in parts if len(p) > 2 or (p and p[0] and not p[0].startswith("|"))) + "\n"


def main_report(paths: list[str]) -> int:
    """Print the markdown for ``paths``; exit 2 with one ``error:`` line on a bad file."""
    import sys

    from extensions.errors import DataError

    try:
        print(render(paths), end="")
    except (DataError, KeyError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
