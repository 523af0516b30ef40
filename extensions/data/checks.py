"""Checks of training data as the reward will meet it: the database file, the nesting guard, the gold's run.

A sample that fails any of them is *broken* (``db_missing``, ``db_corrupt``, ``too_deep``, ``too_large``,
``gold_error``): the reward gives all its completions the same neutral score, so it only wastes rollouts.
``python -m extensions.validation`` (:mod:`extensions.cli.validate`) runs these checks on a file.

>>> database_problem("/nonexistent.sqlite")
(<Status.DB_MISSING: 'db_missing'>, 'no such file')
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from extensions.errors import DataError, SchemaLoadError
from extensions.execution.engine import ExecutionEngine
from extensions.execution.introspect import load_schema
from extensions.execution.status import Status
from extensions.sql.guard import check_sql

SQLITE_MAGIC = b"SQLite format 3\x00"
BROKEN_STATUSES = ("db_missing", "db_corrupt", "too_deep", "too_large", "gold_error", "internal_error")


@dataclass
class Row:
    """One sample to check: its position in the file, database file, gold SQL, question and the raw record."""

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
        fold = f"sqlite3 {path} 'PRAGMA journal_mode=DELETE'"
        return Status.DB_CORRUPT, f"WAL mode with pending -wal content; fold it in first: {fold}"
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
    bar = tqdm(distinct, desc="checking databases", file=sys.stderr, leave=False, disable=None)
    dbs = {p: database_problem(p) for p in bar}
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
        ran = iter(
            list(
                tqdm(
                    ex.map(lambda r: engine.execute_gold(r.db_path, r.sql), todo),
                    total=len(todo),
                    desc="executing golds",
                    file=sys.stderr,
                    leave=False,
                    disable=None,
                )
            )
        )
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


def validate_rows(
    rows: list[Row], *, engine: ExecutionEngine, slow_s: float = 5.0, drop_empty: bool = True, threads: int = 8
) -> Report:
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


def check_training_rows(
    rows: list[dict], *, engine: ExecutionEngine, max_bad_fraction: float = 0.5, drop_empty: bool = True
) -> tuple[list[dict], Report]:
    """Execute every gold of ``{"prompt", "ground_truth": {"sql", "db_path"}}`` rows before training.

    Rows that are broken (missing or corrupt database, failing gold) are dropped, and so are rows whose gold
    returns nothing when ``drop_empty`` (a training reward there is nearly constant). Held-out rows keep them:
    an answer that returns nothing matches such a gold, as Spider's own evaluation counts it.

    Args:
        rows: training or held-out rows.
        engine: the sandbox that runs the golds.
        max_bad_fraction: above this fraction of dropped rows, the data is wrong and training would be wasted.
        drop_empty: drop rows whose gold returns no rows.

    Returns:
        The kept rows and the :class:`Report`.

    Raises:
        DataError: no rows, or too many unusable rows.
    """
    if not rows:
        raise DataError("no training rows")
    gts = [r.get("ground_truth") if isinstance(r.get("ground_truth"), dict) else {} for r in rows]
    as_rows = [
        Row(i, str(gt.get("db_path") or ""), str(gt.get("sql") or ""), "", r)
        for i, (gt, r) in enumerate(zip(gts, rows))
    ]
    rep = validate_rows(as_rows, engine=engine, slow_s=float("inf"), drop_empty=drop_empty)
    bad = len(rows) - len(rep.keep)
    if bad > max_bad_fraction * len(rows):
        broken = ", ".join(f"{k}: {v}" for k, v in sorted(rep.statuses.items()) if k != "ok")
        raise DataError(
            f"{bad} of {len(rows)} training rows are unusable ({broken or 'no broken samples'}; "
            f"empty results: {len(rep.empty_results)}); check the data folder (python -m extensions.validation DATA)"
        )
    keep = set(rep.keep)
    return [r for i, r in enumerate(rows) if i in keep], rep
