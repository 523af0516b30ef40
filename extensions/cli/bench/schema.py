"""``bench schema``: precision and recall of the hallucination detector against SQLite's own compile errors.

Cases: the gold queries, each with one table or one column renamed, and the real predictions of
``official_exec_verdicts.jsonl`` when Spider dev is present. SQLite's ``EXPLAIN`` labels each case; cases
that fail to compile for other reasons are left out.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import time

from tqdm import tqdm

from extensions.cli.bench.workload import spider_examples
from extensions.data.demo import build_demo_databases, demo_examples
from extensions.execution.introspect import load_schema
from extensions.sql.parse import parse_sql
from extensions.sql.resolve import resolve_names


def _explain_label(conn: sqlite3.Connection, sql: str) -> str:
    try:
        conn.execute("EXPLAIN " + sql)
        return "ok"
    except sqlite3.Error as exc:
        msg = str(exc).lower()
        return "hallucination" if "no such table" in msg or "no such column" in msg else "other_error"
    except Exception:
        return "other_error"


def _mutations(sql: str, rng: random.Random) -> list[tuple[str, str]]:
    from sqlglot import exp

    parsed = parse_sql(sql)
    if not parsed.ok or parsed.expression is None:
        return []
    out = []
    if list(parsed.expression.find_all(exp.Table)):
        e = parsed.expression.copy()
        t = rng.choice(list(e.find_all(exp.Table)))
        t.set("this", exp.to_identifier(t.name + "s_info"))
        out.append(("renamed_table", e.sql("sqlite")))
    if [c for c in parsed.expression.find_all(exp.Column) if not isinstance(c.this, exp.Star)]:
        e = parsed.expression.copy()
        c = rng.choice([c for c in e.find_all(exp.Column) if not isinstance(c.this, exp.Star)])
        c.set("this", exp.to_identifier(c.name + "_name"))
        out.append(("renamed_column", e.sql("sqlite")))
    return out


def _cases(args: argparse.Namespace) -> tuple[str, dict[str, str], list[tuple[str, str, str]]]:
    """(source, database paths, cases as (kind, db_id, sql))."""
    sp = spider_examples(args.shared)
    if sp is None:
        examples, paths, source, preds = (
            demo_examples(),
            build_demo_databases(os.path.join(args.cache_dir, "demo")),
            "bundled",
            None,
        )
    else:
        (examples, paths), source, preds = sp, "spider_dev", os.path.join(args.shared, "official_exec_verdicts.jsonl")
    rng = random.Random(args.seed)
    cases = []
    for e in examples:
        cases.append(("gold", e["db_id"], e["query"]))
        cases.extend((kind, e["db_id"], sql) for kind, sql in _mutations(e["query"], rng))
    if preds and os.path.exists(preds):
        with open(preds, encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh]
        cases.extend(("real_prediction", d, p) for d, p in dict.fromkeys((r["db_id"], r["pred"]) for r in rows))
    return source, paths, cases


def _precision_recall(c: dict) -> dict:
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    return dict(c, precision=p, recall=r)


def cmd_schema(args: argparse.Namespace) -> dict:
    """Confusion counts, precision and recall per kind of case, and the first disagreements."""
    source, paths, cases = _cases(args)
    conns = {d: sqlite3.connect(f"file:{p}?mode=ro&immutable=1", uri=True) for d, p in paths.items()}
    per: dict[str, dict[str, int]] = {}
    misses: list[dict] = []
    t0 = time.perf_counter()
    for kind, db_id, sql in tqdm(cases, desc="schema detector", file=sys.stderr, leave=False, disable=None):
        label = _explain_label(conns[db_id], sql)
        if label == "other_error":
            continue
        res = resolve_names(sql, load_schema(paths[db_id]))
        flagged, truth = res.count > 0, label == "hallucination"
        c = per.setdefault(kind, {"tp": 0, "fp": 0, "fn": 0, "tn": 0})
        c["tp" if truth and flagged else "fp" if flagged else "fn" if truth else "tn"] += 1
        if truth != flagged and len(misses) < 25:
            misses.append(
                {
                    "kind": kind,
                    "db_id": db_id,
                    "sql": sql[:200],
                    "sqlite": label,
                    "detector": list(res.hallucinated),
                    "error": res.error,
                }
            )
    total = {k: sum(c[k] for c in per.values()) for k in ("tp", "fp", "fn", "tn")}
    return {
        "source": source,
        "cases": sum(sum(c.values()) for c in per.values()),
        "seconds": time.perf_counter() - t0,
        "by_kind": {k: _precision_recall(c) for k, c in per.items()},
        "overall": _precision_recall(total),
        "disagreements": misses,
    }
