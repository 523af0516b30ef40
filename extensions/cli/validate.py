"""Checks before a run starts: configuration and data. Fail fast, with clear messages.

``python -m extensions.validation DATA [--db-dir DIR] [--slow-s 5] [--write-filtered OUT]``

DATA is one of our prepared parquet files, or a Spider/BIRD-style JSON list
(``db_id`` and ``query``/``SQL``) with ``--db-dir``. Every sample is checked the
way the reward will meet it: its database file exists, is a file, is SQLite,
has no pending ``-wal`` content and its schema reads; its gold query passes the
nesting guard and executes in the sandbox. A sample that fails any of these is
*broken* (``db_missing``, ``db_corrupt``, ``too_deep``, ``too_large``,
``gold_error``): the reward gives all its completions the same neutral score,
so it only wastes rollouts. The report counts samples per status and lists
empty results, slow golds and duplicate questions; the exit code is 1 when a
sample is broken (unless ``--write-filtered`` wrote a copy without them) and 2
when DATA cannot be read. ``--write-filtered`` drops broken rows, empty results
and slow golds, as the Arctic-Text2SQL-R1 recipe does (golds with empty results
or slower than 5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from extensions._util.nesting import bracket_depth
from extensions.cli.inputs import InputError, check_file, check_output, parse_json, read_text, type_name
from extensions.config import Config
from extensions.data.layout import read_prepared, resolve_db_paths
from extensions.errors import ConfigError, DataError, SchemaLoadError
from extensions.execution.engine import ExecutionEngine
from extensions.execution.status import Status
from extensions.execution.introspect import load_schema

try:
    from extensions.sql.guard import check_sql
except ImportError:  # until engineer "sql"'s guard is merged: the same contract, brackets only

    def check_sql(sql: str) -> str | None:
        """None when ``sql`` is safe to parse, else a reason (``too_deep: ...``)."""
        return "too_deep: brackets nested deeper than 100" if bracket_depth(sql) > 100 else None


# ----------------------------------------------------------------------------- config
def validate_config(cfg: Config, *, need_gpu: bool = False) -> list[str]:
    """Problems that would make a training run fail or waste time; empty when fine."""
    problems = []
    o, g = cfg.optimization, cfg.grpo
    if (o.batch_size * o.gradient_accumulation_steps) % g.num_generations != 0 and o.batch_size % g.num_generations != 0:
        problems.append(
            f"grpo.num_generations={g.num_generations} must divide the effective batch "
            f"(optimization.batch_size x gradient_accumulation_steps = {o.batch_size * o.gradient_accumulation_steps})"
        )
    if o.lora.enabled and not o.lora.target_modules:
        problems.append("optimization.lora.target_modules is empty while LoRA is enabled")
    if o.load_in_4bit and not o.lora.enabled:
        problems.append("optimization.load_in_4bit needs LoRA (optimization.lora.enabled=true): 4-bit weights cannot be trained directly")
    if need_gpu:
        try:
            import torch

            has_cuda = torch.cuda.is_available()
        except ImportError:
            has_cuda = False
        if not has_cuda and (o.load_in_4bit or o.mixed_precision == "bf16" or g.use_vllm):
            problems.append("a GPU is required for load_in_4bit / bf16 / vLLM, and none is available (use --demo or set them off)")
    r = cfg.reward
    if r.enable_enhanced and r.syntax_weight == r.schema_weight == r.structural_weight == r.result_weight == 0:
        problems.append("reward.enable_enhanced is true but every shaping weight is 0")
    return problems


def check_config(cfg: Config, *, need_gpu: bool = False) -> None:
    """Raise :class:`ConfigError` listing every problem found by :func:`validate_config`."""
    problems = validate_config(cfg, need_gpu=need_gpu)
    if problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(problems))


# ----------------------------------------------------------------------------- data
SQLITE_MAGIC = b"SQLite format 3\x00"
BROKEN_STATUSES = ("db_missing", "db_corrupt", "too_deep", "too_large", "gold_error", "internal_error")


@dataclass
class Row:
    index: int
    db_path: str
    sql: str
    question: str
    raw: dict


@dataclass
class Report:
    """What :func:`validate_rows` found: per-row statuses, broken samples and the rows worth keeping."""

    total: int = 0
    statuses: Counter = field(default_factory=Counter)
    broken: list[dict] = field(default_factory=list)
    empty_results: list[dict] = field(default_factory=list)
    slow: list[dict] = field(default_factory=list)
    duplicate_questions: list[dict] = field(default_factory=list)
    keep: list[int] = field(default_factory=list)

    def _with(self, status: str) -> list[dict]:
        return [b for b in self.broken if b["status"] == status]

    @property
    def gold_errors(self) -> list[dict]:
        return self._with("gold_error")

    @property
    def missing_databases(self) -> list[dict]:
        return self._with("db_missing")

    @property
    def corrupt_databases(self) -> list[dict]:
        return self._with("db_corrupt")

    def summary(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "broken": len(self.broken),
            "statuses": dict(sorted(self.statuses.items())),
            "empty_results": len(self.empty_results),
            "slow": len(self.slow),
            "duplicate_questions": len(self.duplicate_questions),
            "kept_after_filtering": len(self.keep),
        }


def _need_str(path: str, what: str, value: Any, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str) or (not empty_ok and not value.strip()):
        raise InputError(path, f"{what} must be a {'' if empty_ok else 'non-empty '}string, got {type_name(value)}")
    return value


def _first_db(db_id: str, db_dir: str | None) -> str:
    paths = resolve_db_paths(db_id, db_dir)
    return paths[0] if paths else ""


def _json_row(path: str, i: int, e: Any, db_dir: str) -> Row:
    if not isinstance(e, dict):
        raise InputError(path, f"entry {i}: expected an object with db_id and query/SQL, got {type_name(e)}")
    sql = next((e[k] for k in ("query", "SQL", "sql") if e.get(k) is not None), None)
    _need_str(path, f"entry {i}: query/SQL", sql)
    db_id = _need_str(path, f"entry {i}: db_id", e.get("db_id"))
    question = _need_str(path, f"entry {i}: question", e.get("question", ""), empty_ok=True)
    return Row(i, _first_db(db_id, db_dir), sql, question, e)


def _parquet_problem(exc: Exception) -> str:
    if isinstance(exc, ImportError):
        return "reading parquet needs pyarrow (pip install pyarrow)"
    try:
        import pyarrow

        if isinstance(exc, pyarrow.ArrowException):
            return f"not a readable parquet file ({exc})"
    except ImportError:  # pragma: no cover - pyarrow is what read it
        pass
    return f"malformed rows: reward_model must be an object whose ground_truth is an object with sql and db_path ({type(exc).__name__}: {exc})"


def _prepared_row(path: str, i: int, r: dict, db_dir: str | None) -> Row:
    gt = r["ground_truth"]
    sql = _need_str(path, f"row {i}: ground_truth.sql", gt.get("sql"))
    extra = r.get("extra_info") or {}
    if not isinstance(extra, dict):
        raise InputError(path, f"row {i}: extra_info must be an object, got {type_name(extra)}")
    question = _need_str(path, f"row {i}: extra_info.question", extra.get("question") or "", empty_ok=True)
    db = gt.get("db_path") or ""
    if not db and isinstance(gt.get("db_id"), str):
        db = _first_db(gt["db_id"], db_dir)
    db = _need_str(path, f"row {i}: ground_truth.db_path", db, empty_ok=True)
    return Row(i, db, sql, question, {k: v for k, v in r.items() if k != "ground_truth"})


def load_rows(path: str, db_dir: str | None = None) -> list[Row]:
    """Rows from a prepared parquet file or a Spider/BIRD-style JSON list.

    Args:
        path: a ``.parquet`` file from ``python -m extensions.data prepare``, or a JSON list.
        db_dir: the folder of ``<db_id>/<db_id>.sqlite`` (required for JSON).

    Returns:
        One :class:`Row` per sample.

    Raises:
        InputError: the file cannot be read or a row is malformed (the message names the file and the row).
    """
    check_file(path)
    if path.endswith(".parquet"):
        try:
            prepared = read_prepared(path)
        except Exception as exc:  # pyarrow's errors, or rows whose reward_model is not an object
            raise InputError(path, _parquet_problem(exc)) from None
        return [_prepared_row(path, i, r, db_dir) for i, r in enumerate(prepared)]
    data = parse_json(path, read_text(path))
    if not isinstance(data, list):
        raise InputError(path, f"expected a JSON list of examples, got {type_name(data)}")
    if db_dir is None:
        raise InputError(path, "JSON input needs --db-dir (the folder of <db_id>/<db_id>.sqlite)")
    return [_json_row(path, i, e, db_dir) for i, e in enumerate(data)]


def _wal_pending(path: str, header: bytes) -> bool:
    try:
        return header[18] == 2 and os.path.getsize(path + "-wal") > 0
    except OSError:
        return False


def database_problem(path: str) -> tuple[Status, str] | None:
    """Why the reward could not use this database file, or None when it can.

    Args:
        path: the database file of a sample.

    Returns:
        ``(status, detail)`` with status ``db_missing`` or ``db_corrupt``, or None.

    >>> database_problem("/nonexistent.sqlite")
    (<Status.DB_MISSING: 'db_missing'>, 'no such file')
    """
    if not path:
        return Status.DB_MISSING, "no database given (db_path, or db_id with --db-dir)"
    if not os.path.exists(path):
        return Status.DB_MISSING, "no such file"
    if not os.path.isfile(path):
        return Status.DB_MISSING, "not a file"
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        return Status.DB_CORRUPT, f"cannot be read ({exc.strerror or exc})"
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return Status.DB_CORRUPT, "not a SQLite database file"
    if _wal_pending(path, header):
        return Status.DB_CORRUPT, f"WAL mode with pending -wal content; fold it in first: sqlite3 {path} 'PRAGMA journal_mode=DELETE'"
    try:
        schema = load_schema(path)
    except SchemaLoadError as exc:
        return Status.DB_CORRUPT, str(exc)
    return None if schema.tables else (Status.DB_CORRUPT, "no tables")


def _gold_status(res: Any) -> tuple[str, str]:
    if res.status is Status.OK:
        return "ok", ""
    if res.status.value in ("db_missing", "db_corrupt", "too_deep"):
        return res.status.value, res.detail
    return "gold_error", f"{res.status.value}: {res.detail}"[:300]


def _row_checks(rows: list[Row], engine: ExecutionEngine, threads: int) -> list[tuple[str, str, Any]]:
    """``(status, detail, ExecResult or None)`` per row: database preflight, nesting guard, then the gold run."""
    distinct = list(dict.fromkeys(r.db_path for r in rows))
    dbs = {p: database_problem(p) for p in tqdm(distinct, desc="checking databases", file=sys.stderr, leave=False, disable=None)}
    pre: list[tuple[str, str] | None] = []
    for r in rows:
        db, guard = dbs[r.db_path], check_sql(r.sql)
        if db is not None:
            pre.append((db[0].value, db[1]))
        elif guard is not None:
            pre.append(("too_deep" if guard.startswith("too_deep") else "too_large", guard))
        else:
            pre.append(None)
    todo = [r for r, p in zip(rows, pre) if p is None]
    with ThreadPoolExecutor(threads) as ex:
        ran = iter(list(tqdm(ex.map(lambda r: engine.execute_gold(r.db_path, r.sql), todo), total=len(todo),
                             desc="executing golds", file=sys.stderr, leave=False, disable=None)))
    out = []
    for p in pre:
        if p is not None:
            out.append((p[0], p[1], None))
        else:
            res = next(ran)
            out.append((*_gold_status(res), res))
    return out


def _note_duplicates(rows: list[Row], rep: Report) -> None:
    seen: Counter = Counter()
    for r in rows:
        key = (r.db_path, r.question.strip().lower())
        seen[key] += 1
        if r.question and seen[key] == 2:
            rep.duplicate_questions.append({"index": r.index, "question": r.question})


def validate_rows(rows: list[Row], *, engine: ExecutionEngine, slow_s: float = 5.0, drop_empty: bool = True, threads: int = 8) -> Report:
    """Check every row as the reward will meet it; see the module docstring.

    Args:
        rows: from :func:`load_rows`.
        engine: the sandbox that runs the golds.
        slow_s: golds slower than this are reported (and not kept).
        drop_empty: golds with empty results are not kept.
        threads: golds executed at once.

    Returns:
        A :class:`Report`; ``keep`` holds the indices of the rows worth training on.
    """
    rep = Report(total=len(rows))
    _note_duplicates(rows, rep)
    for r, (status, detail, res) in zip(rows, _row_checks(rows, engine, threads)):
        rep.statuses[status] += 1
        item = {"index": r.index, "db_path": r.db_path, "sql": r.sql[:300]}
        if status != "ok":
            rep.broken.append(dict(item, status=status, detail=detail))
            continue
        bad = False
        if not res.rows:
            rep.empty_results.append(item)
            bad = drop_empty
        if res.elapsed_s > slow_s:
            rep.slow.append(dict(item, seconds=round(res.elapsed_s, 3)))
            bad = True
        if not bad:
            rep.keep.append(r.index)
    return rep


def check_training_rows(rows: list[dict], *, engine: ExecutionEngine, max_bad_fraction: float = 0.5) -> tuple[list[dict], Report]:
    """Execute every gold of ``{"prompt", "ground_truth": {"sql", "db_path"}}`` rows before training.

    Rows that are broken (missing or corrupt database, failing gold) or whose gold returns nothing are
    dropped: they would only ever give a constant reward.

    Args:
        rows: training rows.
        engine: the sandbox that runs the golds.
        max_bad_fraction: above this fraction of dropped rows, the data is wrong and training would be wasted.

    Returns:
        The kept rows and the :class:`Report`.

    Raises:
        DataError: no rows, or too many unusable rows.
    """
    if not rows:
        raise DataError("no training rows")
    gts = [r.get("ground_truth") if isinstance(r.get("ground_truth"), dict) else {} for r in rows]
    as_rows = [Row(i, str(gt.get("db_path") or ""), str(gt.get("sql") or ""), "", r) for i, (gt, r) in enumerate(zip(gts, rows))]
    rep = validate_rows(as_rows, engine=engine, slow_s=float("inf"))
    bad = len(rows) - len(rep.keep)
    if bad > max_bad_fraction * len(rows):
        broken = ", ".join(f"{k}: {v}" for k, v in sorted(rep.statuses.items()) if k != "ok")
        raise DataError(
            f"{bad} of {len(rows)} training rows are unusable ({broken or 'no broken samples'}; "
            f"empty results: {len(rep.empty_results)}); check the data folder (python -m extensions.validation DATA)"
        )
    keep = set(rep.keep)
    return [r for i, r in enumerate(rows) if i in keep], rep


def write_filtered(src: str, rows: list[Row], keep: list[int], out: str) -> None:
    """Write the kept rows of ``src`` to ``out`` in the same format (parquet or JSON)."""
    keep_set = set(keep)
    kept = [r.raw for r in rows if r.index in keep_set]
    if src.endswith(".parquet"):
        from extensions.data.prepare import write_parquet

        write_parquet(kept, out)
    else:
        with open(out, "w") as fh:
            json.dump(kept, fh, indent=1, ensure_ascii=False)


# ----------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m extensions.validation``."""
    p = argparse.ArgumentParser(prog="python -m extensions.validation", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="prepared .parquet, or Spider/BIRD-style .json")
    p.add_argument("--db-dir", help="database folder (<db_id>/<db_id>.sqlite) for JSON input")
    p.add_argument("--slow-s", type=float, default=5.0, help="golds slower than this are reported (and filtered)")
    p.add_argument("--keep-empty", action="store_true", help="do not filter golds with empty results")
    p.add_argument("--write-filtered", metavar="OUT", help="write a copy without broken rows, empty results and slow golds")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    return p


def print_report(rep: Report, as_json: bool) -> None:
    """The report on stdout: JSON, or one line per count and the first broken samples."""
    if as_json:
        lists = {k: getattr(rep, k) for k in ("broken", "empty_results", "slow", "duplicate_questions")}
        print(json.dumps({"summary": rep.summary(), **lists}, indent=1))
        return
    for k, v in rep.summary().items():
        print(f"{k:>22}: {v}")
    for item in rep.broken[:5]:
        print(f"  broken: {item}")


def _broken_line(rep: Report, filtered: bool) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in sorted(rep.statuses.items()) if k != "ok")
    action = "left out of the filtered copy" if filtered else "every completion of one gets the same neutral score; fix them or use --write-filtered"
    return f"broken samples: {len(rep.broken)} of {rep.total} ({counts}): {action}"


def main(argv: list[str] | None = None) -> int:
    """Run the validation CLI: exit 0 when every sample is usable, 1 when some are broken, 2 when DATA cannot be read."""
    a = build_parser().parse_args(argv)
    try:
        check_output(a.write_filtered)
        rows = load_rows(a.data, a.db_dir)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with ExecutionEngine(workers=a.workers, timeout_s=max(a.slow_s * 2, 10.0), adaptive_timeout=False) as eng:
        rep = validate_rows(rows, engine=eng, slow_s=a.slow_s, drop_empty=not a.keep_empty)
    print_report(rep, a.json)
    if a.write_filtered:
        write_filtered(a.data, rows, rep.keep, a.write_filtered)
        print(f"wrote {len(rep.keep)} rows to {a.write_filtered}")
    if rep.broken:
        print(_broken_line(rep, bool(a.write_filtered)), file=sys.stderr)
        return 0 if a.write_filtered else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
