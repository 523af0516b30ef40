"""Evaluate predictions: execution accuracy comparable to published Spider/BIRD numbers,
plus what the shaping components measure (syntax errors, hallucinations, structure).

    python -m extensions.evaluate --gold GOLD --predictions PRED --db-dir DIR \\
        [--semantics spider|bird|strict] [--keep-distinct] [--output report.json] [--plot report.png] \\
        [--compare PRED_B] [--votes K] [--limit N]

GOLD: a Spider/BIRD-style JSON list with ``db_id`` and ``query`` (or ``SQL``),
or a file of ``SQL<TAB>db_id`` lines.

PRED: one SQL per line (``\\n`` or ``\\r\\n``; aligned with GOLD), a JSON list of strings, or JSONL
with a ``pred`` or ``sql`` field. Entries may be raw model completions: SQL is
extracted exactly as the reward does (``<answer>``/last ```sql block/plain).
With ``--votes K``, PRED holds K candidates per example (K consecutive entries,
or a list per JSON/JSONL entry), and the candidate whose execution result is
shared by most candidates is kept (self-consistency, as OmniSQL does).

DIR holds ``<db_id>/<db_id>.sqlite``, or holds ``database/`` that does (Spider's
layout); when most databases are missing the command stops with an error naming
that layout. When ``DIR/<db_id>/`` holds several ``.sqlite`` files (Spider
test-suite databases), a prediction matches only if it matches on every one of them.
``--semantics spider`` reproduces the official test-suite evaluator's verdicts.
A bad input file gives one ``error: <file>: <problem>`` line and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import pathlib
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm import tqdm

from extensions._util.log import log_once
from extensions.cli.inputs import InputError, check_output, parse_json, read_text, split_lines, type_name
from extensions.data.layout import db_file, resolve_db_paths
from extensions.errors import DataError
from extensions.execution.engine import EngineSettings, ExecutionEngine
from extensions.execution.introspect import load_schema
from extensions.execution.status import Status
from extensions.rewards.structural import StructuralReward
from extensions.sql.extract import extract_sql
from extensions.sql.hardness import spider_hardness
from extensions.sql.resolve import resolve_names

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class GoldItem:
    db_id: str
    sql: str


def load_gold(path: str) -> list[GoldItem]:
    """Gold queries from Spider/BIRD JSON (``db_id`` + ``query``/``SQL``) or ``SQL<TAB>db_id`` lines.

    Args:
        path: the gold file.

    Returns:
        One :class:`GoldItem` per example, in file order.

    Raises:
        InputError: the file cannot be read or an entry is malformed (the message names both).
    """
    text = read_text(path)
    if text.lstrip().startswith("["):
        data = parse_json(path, text)
        return [_gold_entry(path, i, e) for i, e in enumerate(data)]
    out = []
    for n, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise InputError(path, f"line {n}: expected 'SQL<TAB>db_id' or a JSON list")
        sql, db_id = line.rsplit("\t", 1)
        out.append(GoldItem(db_id.strip(), sql.strip()))
    if not out:
        raise InputError(path, "holds no gold queries")
    return out


def _gold_entry(path: str, i: int, e: Any) -> GoldItem:
    if not isinstance(e, dict):
        raise InputError(path, f"entry {i}: expected an object with db_id and query/SQL, got {type_name(e)}")
    sql = next((e[k] for k in ("query", "SQL", "sql") if e.get(k) is not None), None)
    if not isinstance(sql, str) or not sql.strip():
        raise InputError(path, f"entry {i}: query/SQL must be a non-empty string, got {type_name(sql)}")
    if not isinstance(e.get("db_id"), str) or not e["db_id"]:
        raise InputError(path, f"entry {i}: db_id must be a non-empty string, got {type_name(e.get('db_id'))}")
    return GoldItem(e["db_id"], sql)


def load_predictions(path: str) -> list[Any]:
    """Predictions, one entry each: a string, or a list of strings (candidates for ``--votes``).

    Args:
        path: one SQL per line (``\\n`` or ``\\r\\n``), a JSON list, or JSONL with a ``pred``/``sql`` field.

    Returns:
        The entries in file order.

    Raises:
        InputError: the file cannot be read or an entry is not a prediction.
    """
    text = read_text(path)
    stripped = text.lstrip()
    if stripped.startswith("["):
        data = parse_json(path, text)
        return [_pred_entry(path, f"entry {i}: ", e) for i, e in enumerate(data)]
    lines = split_lines(text)
    if not stripped.startswith("{"):
        return lines
    return [
        _pred_entry(path, f"line {n}: ", parse_json(path, line, f"line {n}: "))
        for n, line in enumerate(lines, 1)
        if line.strip()
    ]


_PRED_KEYS = ("pred", "sql", "prediction", "completion", "preds", "samples")


def _pred_entry(path: str, where: str, e: Any, depth: int = 0) -> Any:
    if isinstance(e, str) or e is None:
        return e or ""
    if isinstance(e, list) and depth == 0:
        return [_pred_entry(path, where, x, 1) for x in e]
    if isinstance(e, dict) and depth == 0:
        for k in _PRED_KEYS:
            if k in e:
                return _pred_entry(path, where, e[k], 0 if k in ("preds", "samples") else 1)
    raise InputError(
        path, f"{where}expected a string, a list of strings or an object with 'pred'/'sql', got {type_name(e)}"
    )


def group_candidates(preds: list[Any], n_gold: int, votes: int) -> list[list[str]]:
    """Align predictions with the golds: one candidate list per gold.

    Args:
        preds: entries from :func:`load_predictions`.
        n_gold: the number of gold queries.
        votes: candidates per gold (``>= 1``).

    Returns:
        ``n_gold`` lists of candidate strings.

    >>> group_candidates(["a", "b", "c", "d"], 2, 2)
    [['a', 'b'], ['c', 'd']]
    """
    if votes < 1:
        raise DataError(f"--votes must be at least 1, got {votes}")
    if votes == 1:
        if len(preds) != n_gold:
            raise DataError(f"{len(preds)} predictions for {n_gold} gold queries: they must be aligned")
        return [[p] if isinstance(p, str) else list(p)[:1] or [""] for p in preds]
    if len(preds) == n_gold and all(isinstance(p, list) for p in preds):
        return [list(p)[:votes] or [""] for p in preds]
    if len(preds) == n_gold * votes and all(isinstance(p, str) for p in preds):
        return [list(preds[i * votes : (i + 1) * votes]) for i in range(n_gold)]
    raise DataError(f"--votes {votes}: expected {n_gold * votes} predictions or {n_gold} lists, got {len(preds)}")


def _found(root: str, db_ids: list[str]) -> list[str]:
    return [d for d in db_ids if any(os.path.isfile(p) for p in resolve_db_paths(d, root))]


def find_db_root(db_dir: str, db_ids: list[str]) -> str:
    """The database folder to use: ``db_dir`` or its ``database/`` subfolder (Spider's layout).

    Args:
        db_dir: the folder given on the command line.
        db_ids: the gold queries' database names.

    Returns:
        The folder under which most databases exist.

    Raises:
        InputError: the folder is missing, or most databases are missing from it (the expected layout is named).
    """
    if not os.path.isdir(db_dir):
        raise InputError(db_dir, "no such database folder")
    wanted = sorted(set(db_ids))
    roots = [db_dir] + ([os.path.join(db_dir, "database")] if os.path.isdir(os.path.join(db_dir, "database")) else [])
    best = max(roots, key=lambda r: len(_found(r, wanted)))
    found = set(_found(best, wanted))
    if wanted and len(found) * 2 <= len(wanted):
        missing = [d for d in wanted if d not in found]
        raise InputError(
            db_dir,
            f"{len(missing)} of {len(wanted)} databases are missing (first: {missing[0]!r}); expected "
            f"<db-dir>/<db_id>/<db_id>.sqlite, e.g. {db_file(db_dir, missing[0])}",
        )
    return best


# ----------------------------------------------------------------------------- evaluation


@dataclass
class Item:
    index: int
    db_id: str
    exec_match: bool
    status: str
    hallucinated: list[str]
    hardness: str
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
        return {
            "semantics": self.semantics,
            "keep_distinct": self.keep_distinct,
            "summary": self.summary,
            "items": [asdict(i) for i in self.items],
        }


def _result_key(rows: Sequence[tuple] | None) -> Any:
    if rows is None:
        return None
    try:
        return frozenset(Counter(rows).items())
    except TypeError:  # unhashable values cannot happen with sqlite3, but be safe
        return repr(sorted(map(repr, rows)))


class Evaluator:
    """Scores aligned predictions against gold queries on the databases under ``db_dir``.

    Args:
        db_dir: the folder holding ``<db_id>/<db_id>.sqlite`` (see :func:`find_db_root`).
        semantics: ``spider``, ``bird`` or ``strict`` result comparison.
        keep_distinct: spider: keep DISTINCT when executing.
        engine: an engine to share; by default one is started (and closed by :meth:`close`).
        workers: worker processes of the engine it starts.
        timeout_s: per-statement timeout of that engine.
        threads: items evaluated at once.
    """

    def __init__(
        self,
        db_dir: str,
        *,
        semantics: str = "spider",
        keep_distinct: bool = False,
        engine: ExecutionEngine | None = None,
        workers: int = 0,
        timeout_s: float = 30.0,
        threads: int = 8,
    ) -> None:
        if not os.path.isdir(db_dir):
            raise InputError(db_dir, "no such database folder")
        self.db_dir = db_dir
        self.semantics = semantics
        self.keep_distinct = keep_distinct
        self._own = engine is None
        self.engine = engine or ExecutionEngine(
            EngineSettings(workers=workers, timeout_s=timeout_s, adaptive_timeout=False)
        )
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
                hallucinated = list(resolve_names(pred, load_schema(paths[0])).hallucinated)
            except Exception as exc:  # an unreadable schema: reported once, no names listed
                log_once(
                    log, f"evaluate-schema:{type(exc).__name__}", "cannot read the schema of %s: %r", paths[0], exc
                )
                hallucinated = []
        return Item(
            index=index,
            db_id=gold.db_id,
            exec_match=m.match,
            status=m.status.value,
            hallucinated=hallucinated,
            hardness=spider_hardness(gold.sql),
            structural=float(self.structural.compute(pred, gold.sql)),
            pred=pred,
            gold=gold.sql,
            votes=len(candidates),
            detail=m.detail,
        )

    def evaluate(self, gold: list[GoldItem], candidates: list[list[str]], *, desc: str = "evaluating") -> Report:
        with ThreadPoolExecutor(self.threads) as ex:
            futures = [ex.submit(self.evaluate_one, i, g, c) for i, (g, c) in enumerate(zip(gold, candidates))]
            items = [f.result() for f in tqdm(futures, desc=desc, file=sys.stderr, disable=None, leave=False)]
        return Report(self.semantics, self.keep_distinct, summarize(items), items)


def _acc(items: list[Item]) -> dict[str, Any]:
    return {"count": len(items), "exec_accuracy": sum(i.exec_match for i in items) / len(items) if items else 0.0}


def summarize(items: list[Item]) -> dict[str, Any]:
    """The report's ``summary``: accuracy overall, per database and per hardness, rates and status counts.

    Every key is defined in ``docs/evaluation.md`` (``tests/test_evaluate.py`` checks it).

    Args:
        items: the evaluated items.

    Returns:
        ``count``, ``exec_accuracy``, ``per_database``, ``per_hardness``, ``syntax_error_rate``,
        ``schema_error_rate``, ``hallucination_rate``, ``mean_structural``, ``timeouts``, ``gold_errors`` and
        ``statuses`` (items per status).

    >>> summarize([])["syntax_error_rate"]
    0.0
    """
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
        "syntax_error_rate": statuses.get(Status.SYNTAX_ERROR.value, 0) / n,
        "schema_error_rate": statuses.get(Status.SCHEMA_ERROR.value, 0) / n,
        "hallucination_rate": sum(bool(i.hallucinated) for i in items) / n,
        "mean_structural": sum(i.structural for i in items) / n,
        "timeouts": statuses.get(Status.TIMEOUT.value, 0) + statuses.get(Status.TIMEOUT_WALL.value, 0),
        "gold_errors": statuses.get(Status.GOLD_ERROR.value, 0),
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
    return {
        "a_only_correct": only_a,
        "b_only_correct": only_b,
        "p_value": p,
        "test": "exact McNemar (binomial), two-sided",
    }


METRICS = (
    "exec_accuracy",
    "syntax_error_rate",
    "schema_error_rate",
    "hallucination_rate",
    "mean_structural",
    "timeouts",
)


def compare(a: Report, b: Report) -> dict[str, Any]:
    rows = {m: {"a": a.summary[m], "b": b.summary[m], "diff": b.summary[m] - a.summary[m]} for m in METRICS}
    return {
        "metrics": rows,
        "mcnemar_exec_match": mcnemar([i.exec_match for i in a.items], [i.exec_match for i in b.items]),
    }


# ----------------------------------------------------------------------------- output


def _rich_table(report: Report, comparison: dict | None) -> Any:
    from rich.markup import escape
    from rich.table import Table

    s = report.summary
    t = Table(title=f"Evaluation ({report.semantics} semantics, {s['count']} examples)")
    t.add_column("metric")
    if comparison:
        for name in ("A", "B", "B - A"):
            t.add_column(name, justify="right")
        for m, v in comparison["metrics"].items():
            t.add_row(escape(m), f"{v['a']:.4g}", f"{v['b']:.4g}", f"{v['diff']:+.4g}")
        return t
    t.add_column("value", justify="right")
    for m in METRICS:
        t.add_row(escape(m), f"{s[m]:.4g}")
    for h, v in s["per_hardness"].items():
        t.add_row(escape(f"exec_accuracy[{h}] (n={v['count']})"), f"{v['exec_accuracy']:.4g}")
    return t


def _comparison_lines(comparison: dict, names: tuple[str, str]) -> list[str]:
    mc = comparison["mcnemar_exec_match"]
    return [
        f"A = {names[0]}",
        f"B = {names[1]}",
        f"McNemar (exec match): A-only {mc['a_only_correct']}, B-only {mc['b_only_correct']}, p = {mc['p_value']:.4g}",
    ]


def print_summary(
    report: Report, comparison: dict | None = None, file: Any = None, names: tuple[str, str] = ("A", "B")
) -> None:
    """The summary table on ``file`` (stdout): one run, or runs A and B (named ``names``) side by side.

    With a comparison, the names of A and B and the McNemar line follow the table, one line each and never
    wrapped, so a long file name stays whole.

    Args:
        report: run A (or the only run).
        comparison: :func:`compare`'s output, or None.
        file: where to print (default stdout).
        names: what to call A and B (:func:`run_names`).

    Example:
        >>> import io
        >>> print_summary(Report("spider", False, summarize([])), file=io.StringIO())
    """
    file = file or sys.stdout
    lines = _comparison_lines(comparison, names) if comparison else []
    try:
        from rich.console import Console
        from rich.text import Text
    except ImportError:
        s = report.summary
        print(f"exec_accuracy: {s['exec_accuracy']:.4f} ({s['count']} examples, {report.semantics})", file=file)
        for m in METRICS[1:]:
            print(f"{m}: {s[m]:.4g}", file=file)
        for line in lines:
            print(line, file=file)
        return
    console = Console(file=file, width=100)
    console.print(_rich_table(report, comparison))
    for line in lines:
        console.print(Text(line), soft_wrap=True)


def run_names(path_a: str, path_b: str | None = None) -> tuple[str, str]:
    """Names for runs A and B after their predictions files: the file names, or more of the paths when equal.

    Args:
        path_a: the predictions file of run A.
        path_b: the one of run B, if any.

    Returns:
        ``(name_a, name_b)``; ``name_b`` is ``"B"`` without a second file.

    >>> run_names("runs/base/pred.txt", "runs/grpo/pred.txt")
    ('base/pred.txt', 'grpo/pred.txt')
    >>> run_names("base.txt", "grpo.txt")
    ('base.txt', 'grpo.txt')
    """
    if path_b is None:
        return os.path.basename(path_a), "B"
    a, b = pathlib.PurePath(path_a).parts, pathlib.PurePath(path_b).parts
    for k in range(1, max(len(a), len(b)) + 1):
        name_a, name_b = "/".join(a[-k:]), "/".join(b[-k:])
        if name_a != name_b:
            return name_a, name_b
    return f"A: {path_a}", f"B: {path_b}"


def report_figure(report: Report, other: Report | None = None, names: tuple[str, str] = ("A", "B")) -> Any:
    """The evaluation plot: metric bars and execution accuracy per database, for one run or two.

    Args:
        report: run A.
        other: run B, shown next to A.
        names: what to call A and B in the legends (:func:`run_names`).

    Returns:
        The matplotlib figure (two axes: metrics, per database).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [(names[0], report.summary)] + ([(names[1], other.summary)] if other else [])
    w = 0.8 / len(runs)
    offsets = [(k - (len(runs) - 1) / 2) * w for k in range(len(runs))]
    metric_names = [m for m in METRICS if m != "timeouts"]
    dbs = list(report.summary["per_database"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, max(4.5, 0.25 * len(dbs) * len(runs) + 1)))
    for (name, s), off in zip(runs, offsets):
        ax1.bar([i + off for i in range(len(metric_names))], [s[n] for n in metric_names], width=w, label=name)
        per_db = s["per_database"]
        ax2.barh(
            [i + off for i in range(len(dbs))],
            [per_db.get(d, {}).get("exec_accuracy", 0.0) for d in dbs],
            height=w,
            label=name,
        )
    ax1.set_xticks(range(len(metric_names)))
    ax1.set_xticklabels(metric_names, rotation=20, fontsize=8)
    ax1.set(ylim=(0, 1), ylabel="rate / score", title=f"metrics ({report.semantics} semantics)")
    ax2.set_yticks(range(len(dbs)))
    ax2.set_yticklabels([f"{d} (n={report.summary['per_database'][d]['count']})" for d in dbs], fontsize=7)
    ax2.set(xlim=(0, 1), xlabel="execution accuracy", ylabel="database", title="execution accuracy per database")
    for ax in (ax1, ax2):
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_report(report: Report, path: str, other: Report | None = None, names: tuple[str, str] = ("A", "B")) -> str:
    """Write :func:`report_figure` to ``path`` (PNG); returns ``path``."""
    import matplotlib.pyplot as plt

    fig = report_figure(report, other, names)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m extensions.evaluate``."""
    p = argparse.ArgumentParser(
        prog="python -m extensions.evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--gold", required=True)
    p.add_argument("--predictions", required=True)
    p.add_argument(
        "--db-dir", required=True, help="folder of <db_id>/<db_id>.sqlite, or a folder holding database/ (Spider)"
    )
    p.add_argument("--semantics", choices=["spider", "bird", "strict"], default="spider")
    p.add_argument("--keep-distinct", action="store_true", help="spider: do not remove DISTINCT before executing")
    p.add_argument("--output", help="write the JSON report here")
    p.add_argument("--plot", help="write a PNG with metric bars and per-database accuracy")
    p.add_argument("--compare", metavar="PRED_B", help="a second predictions file to compare with (paired)")
    p.add_argument(
        "--votes", type=_positive_int, default=1, help="K candidates per example; majority by execution result"
    )
    p.add_argument("--limit", type=_positive_int, metavar="N", help="evaluate the first N gold queries only")
    p.add_argument("--workers", type=int, default=0, help="execution worker processes (0 = all cores)")
    p.add_argument("--timeout", type=float, default=30.0, help="per-statement timeout in seconds")
    return p


@dataclass
class _Inputs:
    gold: list[GoldItem]
    cands: list[list[str]]
    cands_b: list[list[str]] | None
    db_root: str


def _load_inputs(a: argparse.Namespace) -> _Inputs:
    check_output(a.output)
    check_output(a.plot)
    gold = load_gold(a.gold)
    cands = _aligned(a.predictions, gold, a.votes)
    cands_b = _aligned(a.compare, gold, a.votes) if a.compare else None
    n = a.limit or len(gold)
    db_root = find_db_root(a.db_dir, [g.db_id for g in gold[:n]])
    return _Inputs(gold[:n], cands[:n], cands_b[:n] if cands_b else None, db_root)


def _aligned(path: str, gold: list[GoldItem], votes: int) -> list[list[str]]:
    try:
        return group_candidates(load_predictions(path), len(gold), votes)
    except InputError:
        raise
    except DataError as exc:
        raise InputError(path, str(exc)) from None


def _write_outputs(a: argparse.Namespace, report: Report, report_b: Report | None, comparison: dict | None) -> None:
    if a.output:
        out = report.to_json()
        if report_b:
            out = {"a": out, "b": report_b.to_json(), "comparison": comparison}
        with open(a.output, "w") as fh:
            json.dump(out, fh, indent=1)
    if a.plot:
        plot_report(report, a.plot, report_b, run_names(a.predictions, a.compare))


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation CLI; returns the exit code (2 on a bad input file, with one ``error:`` line)."""
    a = build_parser().parse_args(argv)
    try:
        inp = _load_inputs(a)
        ev = Evaluator(
            inp.db_root, semantics=a.semantics, keep_distinct=a.keep_distinct, workers=a.workers, timeout_s=a.timeout
        )
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        report = ev.evaluate(inp.gold, inp.cands, desc="evaluating A" if inp.cands_b else "evaluating")
        report_b = ev.evaluate(inp.gold, inp.cands_b, desc="evaluating B") if inp.cands_b else None
    finally:
        ev.close()
    comparison = compare(report, report_b) if report_b else None
    print_summary(report, comparison, names=run_names(a.predictions, a.compare))
    _write_outputs(a, report, report_b, comparison)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
