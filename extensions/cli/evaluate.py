"""Evaluate predictions: execution accuracy comparable to published Spider/BIRD numbers,
plus what the shaping components measure (syntax errors, hallucinations, structure).

    python -m extensions.evaluate --gold GOLD --predictions PRED --db-dir DIR \\
        [--semantics spider|bird|strict] [--keep-distinct] [--output report.json] [--plot report.png] \\
        [--compare PRED_B] [--votes K]

GOLD: a Spider/BIRD-style JSON list with ``db_id`` and ``query`` (or ``SQL``),
or a file of ``SQL<TAB>db_id`` lines.

PRED: one SQL per line (aligned with GOLD), a JSON list of strings, or JSONL
with a ``pred`` or ``sql`` field. Entries may be raw model completions: SQL is
extracted exactly as the reward does (``<answer>``/last ```sql block/plain).
With ``--votes K``, PRED holds K candidates per example (K consecutive entries,
or a list per JSON/JSONL entry), and the candidate whose execution result is
shared by most candidates is kept (self-consistency, as OmniSQL does).

When ``DIR/<db_id>/`` holds several ``.sqlite`` files (Spider test-suite
databases), a prediction matches only if it matches on every one of them.
``--semantics spider`` reproduces the official test-suite evaluator's verdicts.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm import tqdm

from extensions._util.log import log_once
from extensions.errors import DataError
from extensions.execution.engine import EngineSettings, ExecutionEngine
from extensions.execution.status import Status
from extensions.data.layout import resolve_db_paths
from extensions.rewards.structural import StructuralReward
from extensions.rewards.syntax import syntax_verdict
from extensions.sql.extract import extract_sql
from extensions.sql.hardness import spider_hardness
from extensions.sql.resolve import resolve_names
from extensions.sql.schema import Schema

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class GoldItem:
    db_id: str
    sql: str


def load_gold(path: str) -> list[GoldItem]:
    """Spider/BIRD JSON (``db_id`` + ``query``/``SQL``) or ``SQL<TAB>db_id`` lines."""
    if not os.path.exists(path):
        raise DataError(f"gold file not found: {path}")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if text.lstrip().startswith("["):
        data = json.loads(text)
        out = []
        for i, e in enumerate(data):
            sql = e.get("query") or e.get("SQL") or e.get("sql")
            if not isinstance(e, dict) or not sql or "db_id" not in e:
                raise DataError(f"{path}: entry {i} needs db_id and query/SQL")
            out.append(GoldItem(e["db_id"], sql))
        return out
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise DataError(f"{path}:{n}: expected 'SQL<TAB>db_id'")
        sql, db_id = line.rsplit("\t", 1)
        out.append(GoldItem(db_id.strip(), sql.strip()))
    return out


def load_predictions(path: str) -> list[Any]:
    """A list with one entry per prediction: a string, or a list of strings (candidates)."""
    if not os.path.exists(path):
        raise DataError(f"predictions file not found: {path}")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    stripped = text.lstrip()
    if stripped.startswith("["):
        data = json.loads(text)
        return [_pred_entry(e) for e in data]
    lines = text.splitlines()
    if stripped.startswith("{"):
        out = []
        for n, line in enumerate(lines, 1):
            if line.strip():
                try:
                    out.append(_pred_entry(json.loads(line)))
                except ValueError as exc:
                    raise DataError(f"{path}:{n}: not JSON: {exc}") from None
        return out
    return lines  # splitlines(): a final newline does not add an empty prediction


def _pred_entry(e: Any) -> Any:
    if isinstance(e, str) or e is None:
        return e or ""
    if isinstance(e, list):
        return [_pred_entry(x) for x in e]
    if isinstance(e, dict):
        for k in ("pred", "sql", "prediction", "completion", "preds", "samples"):
            if k in e:
                return _pred_entry(e[k])
    raise DataError(f"cannot read a prediction from {str(e)[:80]!r} (expected a string or a 'pred'/'sql' field)")


def group_candidates(preds: list[Any], n_gold: int, votes: int) -> list[list[str]]:
    if votes <= 1:
        if len(preds) != n_gold:
            raise DataError(f"{len(preds)} predictions for {n_gold} gold queries: they must be aligned")
        return [[p] if isinstance(p, str) else list(p)[:1] for p in preds]
    if len(preds) == n_gold and all(isinstance(p, list) for p in preds):
        return [list(p)[:votes] for p in preds]
    if len(preds) == n_gold * votes:
        return [list(preds[i * votes : (i + 1) * votes]) for i in range(n_gold)]
    raise DataError(f"--votes {votes}: expected {n_gold * votes} predictions or {n_gold} lists, got {len(preds)}")


# ----------------------------------------------------------------------------- evaluation


@dataclass
class Item:
    index: int
    db_id: str
    exec_match: bool
    status: str
    hallucinated: list[str]
    hardness: str
    syntax_valid: bool
    structural: float
    pred: str
    gold: str
    votes: int = 1
    detail: str = ""


@dataclass
class Report:
    semantics: str
    keep_distinct: bool
    summary: dict[str, Any]
    items: list[Item] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"semantics": self.semantics, "keep_distinct": self.keep_distinct, "summary": self.summary,
                "items": [asdict(i) for i in self.items]}


def _result_key(rows: Sequence[tuple] | None) -> Any:
    if rows is None:
        return None
    try:
        return frozenset(Counter(rows).items())
    except TypeError:  # unhashable values cannot happen with sqlite3, but be safe
        return repr(sorted(map(repr, rows)))


class Evaluator:
    def __init__(self, db_dir: str, *, semantics: str = "spider", keep_distinct: bool = False, engine: ExecutionEngine | None = None,
                 workers: int = 0, timeout_s: float = 30.0, threads: int = 8) -> None:
        if not os.path.isdir(db_dir):
            raise DataError(f"database folder not found: {db_dir}")
        self.db_dir = db_dir
        self.semantics = semantics
        self.keep_distinct = keep_distinct
        self._own = engine is None
        self.engine = engine or ExecutionEngine(EngineSettings(workers=workers, timeout_s=timeout_s, adaptive_timeout=False))
        self.threads = threads
        self.structural = StructuralReward()
        self._paths: dict[str, list[str]] = {}

    def close(self) -> None:
        if self._own:
            self.engine.close()

    def paths(self, db_id: str) -> list[str]:
        if db_id not in self._paths:
            self._paths[db_id] = [p for p in resolve_db_paths(db_id, self.db_dir) if os.path.exists(p)]
        return self._paths[db_id]

    def _vote(self, candidates: list[str], paths: list[str]) -> str:
        """Self-consistency: the candidate whose result (on the first database) most candidates share."""
        if len(candidates) == 1 or not paths:
            return candidates[0]
        groups: dict[Any, list[int]] = defaultdict(list)
        for i, sql in enumerate(candidates):
            r = self.engine.execute(paths[0], sql)
            if r.status is Status.OK:
                groups[_result_key(r.rows)].append(i)
        if not groups:
            return candidates[0]
        best = max(groups.values(), key=lambda idx: (len(idx), -idx[0]))
        return candidates[best[0]]

    def evaluate_one(self, index: int, gold: GoldItem, candidates: list[str]) -> Item:
        sqls = [extract_sql(c).sql or "" for c in candidates]
        paths = self.paths(gold.db_id)
        pred = self._vote(sqls, paths)
        m = self.engine.match(paths, pred, gold.sql, semantics=self.semantics, keep_distinct=self.keep_distinct)  # type: ignore[arg-type]
        hallucinated: list[str] = []
        if paths:
            try:
                hallucinated = list(resolve_names(pred, Schema.coerce(paths[0])).hallucinated)
            except Exception as exc:  # an unreadable schema: reported once, no names listed
                log_once(log, f"evaluate-schema:{type(exc).__name__}", "cannot read the schema of %s: %r", paths[0], exc)
                hallucinated = []
        pred_status = m.pred.status if m.pred is not None else None
        valid, _ = syntax_verdict(pred, pred_status)
        return Item(
            index=index, db_id=gold.db_id, exec_match=m.match, status=m.status.value, hallucinated=hallucinated,
            hardness=spider_hardness(gold.sql), syntax_valid=valid, structural=float(self.structural.compute(pred, gold.sql)),
            pred=pred, gold=gold.sql, votes=len(candidates), detail=m.detail,
        )

    def evaluate(self, gold: list[GoldItem], candidates: list[list[str]], *, desc: str = "evaluating") -> Report:
        with ThreadPoolExecutor(self.threads) as ex:
            futures = [ex.submit(self.evaluate_one, i, g, c) for i, (g, c) in enumerate(zip(gold, candidates))]
            items = [f.result() for f in tqdm(futures, desc=desc, file=sys.stderr, disable=len(futures) < 50)]
        return Report(self.semantics, self.keep_distinct, summarize(items), items)


def _acc(items: list[Item]) -> dict[str, Any]:
    return {"count": len(items), "exec_accuracy": sum(i.exec_match for i in items) / len(items) if items else 0.0}


def summarize(items: list[Item]) -> dict[str, Any]:
    n = len(items) or 1
    by_db: dict[str, list[Item]] = defaultdict(list)
    by_hard: dict[str, list[Item]] = defaultdict(list)
    for i in items:
        by_db[i.db_id].append(i)
        by_hard[i.hardness].append(i)
    statuses = Counter(i.status for i in items)
    return {
        "count": len(items),
        "exec_accuracy": sum(i.exec_match for i in items) / n,
        "per_database": {k: _acc(v) for k, v in sorted(by_db.items())},
        "per_hardness": {k: _acc(by_hard[k]) for k in ("easy", "medium", "hard", "extra", "unknown") if k in by_hard},
        "syntax_error_rate": sum(not i.syntax_valid for i in items) / n,
        "hallucination_rate": sum(bool(i.hallucinated) for i in items) / n,
        "mean_structural": sum(i.structural for i in items) / n,
        "timeouts": statuses.get("timeout", 0),
        "gold_errors": statuses.get("gold_error", 0),
        "statuses": dict(sorted(statuses.items())),
    }


# ----------------------------------------------------------------------------- comparison


def mcnemar(a: Sequence[bool], b: Sequence[bool]) -> dict[str, Any]:
    """Exact two-sided McNemar test on paired exec-match outcomes.

    >>> mcnemar([True] * 10 + [False] * 5, [False] * 10 + [False] * 5)["p_value"] < 0.01
    True
    """
    only_a = sum(x and not y for x, y in zip(a, b))
    only_b = sum(y and not x for x, y in zip(a, b))
    n = only_a + only_b
    if n == 0:
        p = 1.0
    else:
        k = min(only_a, only_b)
        p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)
    return {"a_only_correct": only_a, "b_only_correct": only_b, "p_value": p, "test": "exact McNemar (binomial), two-sided"}


METRICS = ("exec_accuracy", "syntax_error_rate", "hallucination_rate", "mean_structural", "timeouts")


def compare(a: Report, b: Report) -> dict[str, Any]:
    rows = {m: {"a": a.summary[m], "b": b.summary[m], "diff": b.summary[m] - a.summary[m]} for m in METRICS}
    return {"metrics": rows, "mcnemar_exec_match": mcnemar([i.exec_match for i in a.items], [i.exec_match for i in b.items])}


# ----------------------------------------------------------------------------- output


def print_summary(report: Report, comparison: dict | None = None, file: Any = None) -> None:
    file = file or sys.stdout
    s = report.summary
    try:
        from rich.console import Console
        from rich.table import Table

        console = Console(file=file, width=100)
        t = Table(title=f"Evaluation ({report.semantics} semantics, {s['count']} examples)")
        if comparison:
            t.add_column("metric")
            t.add_column("A", justify="right")
            t.add_column("B", justify="right")
            t.add_column("B - A", justify="right")
            for m, v in comparison["metrics"].items():
                t.add_row(m, f"{v['a']:.4g}", f"{v['b']:.4g}", f"{v['diff']:+.4g}")
        else:
            t.add_column("metric")
            t.add_column("value", justify="right")
            for m in METRICS:
                t.add_row(m, f"{s[m]:.4g}")
            for h, v in s["per_hardness"].items():
                t.add_row(f"exec_accuracy[{h}] (n={v['count']})", f"{v['exec_accuracy']:.4g}")
        console.print(t)
        if comparison:
            mc = comparison["mcnemar_exec_match"]
            console.print(f"McNemar (exec match): A-only {mc['a_only_correct']}, B-only {mc['b_only_correct']}, p = {mc['p_value']:.4g}")
    except ImportError:
        print(f"exec_accuracy: {s['exec_accuracy']:.4f} ({s['count']} examples, {report.semantics})", file=file)
        for m in METRICS[1:]:
            print(f"{m}: {s[m]:.4g}", file=file)
        if comparison:
            print(json.dumps(comparison, indent=1), file=file)


def plot_report(report: Report, path: str, other: Report | None = None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = report.summary
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = ["exec_accuracy", "syntax_error_rate", "hallucination_rate", "mean_structural"]
    x = range(len(names))
    w = 0.4 if other else 0.7
    ax1.bar([i - (w / 2 if other else 0) for i in x], [s[n] for n in names], width=w, label="A")
    if other:
        ax1.bar([i + w / 2 for i in x], [other.summary[n] for n in names], width=w, label="B")
        ax1.legend()
    ax1.set_xticks(list(x))
    ax1.set_xticklabels(names, rotation=20, fontsize=8)
    ax1.set_ylim(0, 1)
    ax1.set_title("metrics")
    dbs = list(s["per_database"])
    ax2.barh(dbs, [s["per_database"][d]["exec_accuracy"] for d in dbs])
    ax2.set_xlim(0, 1)
    ax2.set_title("exec accuracy per database")
    ax2.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m extensions.evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gold", required=True)
    p.add_argument("--predictions", required=True)
    p.add_argument("--db-dir", required=True)
    p.add_argument("--semantics", choices=["spider", "bird", "strict"], default="spider")
    p.add_argument("--keep-distinct", action="store_true", help="spider: do not remove DISTINCT before executing")
    p.add_argument("--output", help="write the JSON report here")
    p.add_argument("--plot", help="write a PNG with metric bars and per-database accuracy")
    p.add_argument("--compare", metavar="PRED_B", help="a second predictions file to compare with (paired)")
    p.add_argument("--votes", type=int, default=1, help="K candidates per example; majority by execution result")
    p.add_argument("--workers", type=int, default=0, help="execution worker processes (0 = all cores)")
    p.add_argument("--timeout", type=float, default=30.0, help="per-statement timeout in seconds")
    a = p.parse_args(argv)
    try:
        gold = load_gold(a.gold)
        cands = group_candidates(load_predictions(a.predictions), len(gold), a.votes)
        cands_b = group_candidates(load_predictions(a.compare), len(gold), a.votes) if a.compare else None
        ev = Evaluator(a.db_dir, semantics=a.semantics, keep_distinct=a.keep_distinct, workers=a.workers, timeout_s=a.timeout)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        report = ev.evaluate(gold, cands, desc="evaluating A" if cands_b else "evaluating")
        report_b = ev.evaluate(gold, cands_b, desc="evaluating B") if cands_b else None
    finally:
        ev.close()
    comparison = compare(report, report_b) if report_b else None
    print_summary(report, comparison)
    if a.output:
        out = report.to_json()
        if report_b:
            out = {"a": out, "b": report_b.to_json(), "comparison": comparison}
        with open(a.output, "w") as fh:
            json.dump(out, fh, indent=1)
    if a.plot:
        plot_report(report, a.plot, report_b)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
