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
import sys
from typing import Any

from extensions.cli.inputs import InputError, check_file, check_output, parse_json, read_text, type_name
from extensions.data.checks import Report, Row, validate_rows
from extensions.data.layout import read_prepared, resolve_db_paths
from extensions.errors import DataError
from extensions.execution.engine import ExecutionEngine


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
    return (
        "malformed rows: reward_model must be an object whose ground_truth is an object with sql and db_path "
        f"({type(exc).__name__}: {exc})"
    )


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


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m extensions.validation``."""
    p = argparse.ArgumentParser(
        prog="python -m extensions.validation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", help="prepared .parquet, or Spider/BIRD-style .json")
    p.add_argument("--db-dir", help="database folder (<db_id>/<db_id>.sqlite) for JSON input")
    p.add_argument("--slow-s", type=float, default=5.0, help="golds slower than this are reported (and filtered)")
    p.add_argument("--keep-empty", action="store_true", help="do not filter golds with empty results")
    p.add_argument(
        "--write-filtered", metavar="OUT", help="write a copy without broken rows, empty results and slow golds"
    )
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
    action = (
        "left out of the filtered copy"
        if filtered
        else "every completion of one gets the same neutral score; fix them or use --write-filtered"
    )
    return f"broken samples: {len(rep.broken)} of {rep.total} ({counts}): {action}"


def main(argv: list[str] | None = None) -> int:
    """Run the validation CLI: exit 0 when every sample is usable, 1 when some are broken, 2 when DATA is unreadable."""
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
