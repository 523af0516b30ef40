"""The benchmark's GRPO-shaped workload and the reference caller it is measured against.

A workload is ``prompts`` groups of ``rollouts`` samples: per group of 16, 5 gold copies, 2 whitespace
variants, 2 keyword-case variants, 4 wrong answers, 2 syntax errors and 1 hallucinated table. The
reference scores the way public text-to-SQL RL recipes do: sequentially, a new connection per call, a
thread-based timeout (the thread keeps running after it "times out") and the gold re-run per rollout.

>>> ex = [{"db_id": "d", "query": "SELECT a FROM t"}, {"db_id": "d", "query": "SELECT b FROM t"}]
>>> len(build_workload(ex, {"d": "d.sqlite"}, prompts=2, rollouts=16))
32
"""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from extensions.data.layout import db_file

RUNAWAY = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r WHERE x < {i}"
# rollouts per group, by kind; sums to 16 (scaled for other group sizes)
MIX = {"gold": 5, "spaced": 2, "keyword_case": 2, "wrong": 4, "syntax": 2, "schema": 1}


@dataclass
class Sample:
    db_path: str
    gold: str
    pred: str
    kind: str


def _variants(gold: str, others: list[str], rng: random.Random) -> dict[str, list[str]]:
    spaced = re.sub(r" ", "  ", gold, count=2).replace(" FROM ", "\n FROM ", 1)
    lower_kw = re.sub(r"\bSELECT\b", "select", gold)
    wrong = [f"SELECT count(*) FROM ({gold})", f"SELECT * FROM ({gold}) LIMIT 1"]
    wrong += rng.sample(others, min(2, len(others)))
    syntax = [gold.replace("SELECT", "SELEC", 1), gold[: max(8, int(len(gold) * 0.6))] + " WHERE ("]
    schema = [re.sub(r"\bFROM\s+(\w+)", lambda m: f"FROM {m.group(1)}_x", gold, count=1)]
    return {
        "gold": [gold],
        "spaced": [spaced],
        "keyword_case": [lower_kw],
        "wrong": wrong,
        "syntax": syntax,
        "schema": schema,
    }


def _group(e: dict, others: list[str], path: str, rollouts: int, rng: random.Random) -> list[Sample]:
    v = _variants(e["query"], others, rng)
    group = [
        Sample(path, e["query"], rng.choice(v[kind]), kind)
        for kind, n in MIX.items()
        for _ in range(max(1, round(n * rollouts / 16)))
    ]
    rng.shuffle(group)
    return group[:rollouts]


def build_workload(
    examples: list[dict], paths: dict[str, str], *, prompts: int, rollouts: int, runaways: int = 0, seed: int = 0
) -> list[Sample]:
    """GRPO groups over ``examples`` (``db_id``, ``query``); ``runaways`` samples become unbounded recursive CTEs.

    Args:
        examples: gold examples.
        paths: database file per ``db_id``.
        prompts: groups.
        rollouts: samples per group.
        runaways: samples replaced by statements that never finish on their own.
        seed: the random seed.

    Returns:
        ``prompts * rollouts`` samples.
    """
    rng = random.Random(seed)
    by_db: dict[str, list[str]] = {}
    for e in examples:
        by_db.setdefault(e["db_id"], []).append(e["query"])
    chosen = (
        rng.sample(examples, prompts) if len(examples) >= prompts else [rng.choice(examples) for _ in range(prompts)]
    )
    samples: list[Sample] = []
    for e in chosen:
        others = [q for q in by_db[e["db_id"]] if q != e["query"]] or [e["query"]]
        samples.extend(_group(e, others, paths[e["db_id"]], rollouts, rng))
    for i in range(runaways):
        j = rng.randrange(len(samples))
        samples[j] = Sample(samples[j].db_path, samples[j].gold, RUNAWAY.format(i=10**9 + i), "runaway")
    return samples


def as_completion(sql: str) -> str:
    """A model completion in the SQL-R1 format around ``sql``."""
    return f"<think>Use the schema.</think><answer>```sql\n{sql}\n```</answer>"


def spider_examples(shared: str) -> tuple[list[dict], dict[str, str]] | None:
    """Spider dev's examples and database paths from ``shared`` (``dev.json``, ``database/``), or None when absent."""
    dev = os.path.join(shared, "dev.json")
    if not os.path.exists(dev):
        return None
    with open(dev, encoding="utf-8") as fh:
        examples = json.load(fh)
    return examples, {e["db_id"]: db_file(os.path.join(shared, "database"), e["db_id"]) for e in examples}


class ReferenceScorer:
    """Scores like public recipes: sequential, new connection per call, thread timeout, gold re-run.

    Args:
        timeout_s: the per-statement timeout of the thread join.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.leaked: list[tuple[threading.Thread, dict]] = []

    def _run(self, db_path: str, sql: str) -> tuple[str, Any]:
        box: dict[str, Any] = {}

        def target() -> None:
            conn = sqlite3.connect(db_path, check_same_thread=False)
            box["conn"] = conn
            try:
                box["rows"] = conn.execute(sql).fetchall()
            except Exception as exc:
                box["error"] = exc
            finally:
                conn.close()

        t = threading.Thread(target=target, daemon=True)
        t.start()
        t.join(self.timeout_s)
        if t.is_alive():  # "timed out": the query keeps running in the background
            self.leaked.append((t, box))
            return "timeout", None
        if "error" in box:
            return "error", box["error"]
        return "ok", box["rows"]

    def score(self, s: Sample) -> bool:
        """True when the prediction's rows equal the gold's as sets."""
        g_flag, g_rows = self._run(s.db_path, s.gold)
        p_flag, p_rows = self._run(s.db_path, s.pred)
        if g_flag != "ok" or p_flag != "ok":
            return False
        return set(p_rows) == set(g_rows)

    def cleanup(self) -> int:
        """Interrupt and join the threads left running; returns how many there were."""
        n = len(self.leaked)
        for t, box in self.leaked:
            conn = box.get("conn")
            if conn is not None:
                try:
                    conn.interrupt()
                except Exception:
                    pass
            t.join(5)
        self.leaked.clear()
        return n
