"""``bench evaluate`` and ``bench extract``: the evaluation CLI's core and SQL extraction on large inputs."""

from __future__ import annotations

import argparse
import json
import os
import time

from extensions.cli.evaluate import Evaluator, GoldItem
from extensions.data.demo import build_demo_databases, demo_examples
from extensions.sql.extract import extract_sql


def _evaluate_inputs(args: argparse.Namespace) -> tuple[str, str, list[GoldItem], list[list[str]], list[dict] | None]:
    """(source, database folder, golds, candidates, official rows when Spider dev is present)."""
    verdicts = os.path.join(args.shared, "official_exec_verdicts.jsonl")
    if os.path.exists(verdicts):
        with open(verdicts, encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh]
        gold = [GoldItem(r["db_id"], r["gold"]) for r in rows]
        return (
            "spider_dev official predictions",
            os.path.join(args.shared, "database"),
            gold,
            [[r["pred"]] for r in rows],
            rows,
        )
    paths = build_demo_databases(os.path.join(args.cache_dir, "demo"))
    ex = demo_examples() * 16
    gold = [GoldItem(e["db_id"], e["query"]) for e in ex]
    cands = [[ex[(i * 7) % len(ex)]["query"]] for i in range(len(ex))]
    return "bundled demo (x16)", os.path.dirname(os.path.dirname(paths["hr"])), gold, cands, None


def cmd_evaluate(args: argparse.Namespace) -> dict:
    """Throughput of ``python -m extensions.evaluate``'s core, and its agreement with the official verdicts."""
    source, db_dir, gold, cands, rows = _evaluate_inputs(args)
    t0 = time.perf_counter()
    ev = Evaluator(db_dir, workers=args.workers)
    try:
        rep = ev.evaluate(gold, cands)
    finally:
        ev.close()
    wall = time.perf_counter() - t0
    out = {
        "source": source,
        "predictions": len(gold),
        "wall_s": wall,
        "per_s": len(gold) / wall,
        "exec_accuracy": rep.summary["exec_accuracy"],
    }
    if rows is not None:
        out["agreement_with_official"] = sum(
            int(i.exec_match) == r["official_exec"] for i, r in zip(rep.items, rows)
        ) / len(rows)
    return out


def _best_of_3(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        extract_sql(text)
        best = min(best, time.perf_counter() - t)
    return best


def cmd_extract(args: argparse.Namespace) -> dict:
    """Extraction time on 1-16 MB of text and on thousands of repeated tags and fences."""
    out = {}
    for mb in (1, 4, 16):
        text = "<think>" + ("x" * 1023 + "\n") * (1024 * mb) + "</think><answer>```sql\nSELECT 1\n```</answer>"
        out[f"plain_{mb}MB_ms"] = 1000 * _best_of_3(text)
    for n in (1_000, 10_000, 100_000):
        out[f"repeated_tags_{n}_ms"] = 1000 * _best_of_3("<think>" * n + "</think>" * n + "<answer>" * n)
        out[f"repeated_fences_{n}_ms"] = 1000 * _best_of_3("```sql\n" * n)
    out["ms_per_MB_at_16MB"] = out["plain_16MB_ms"] / 16
    out["ratio_16MB_over_1MB"] = out["plain_16MB_ms"] / max(1e-9, out["plain_1MB_ms"])
    return out
