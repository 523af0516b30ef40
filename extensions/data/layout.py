"""Where databases live and what a ground truth is: one home for paths and prepared rows.

A database for ``db_id`` lives at ``<root>/<db_id>/<db_id>.sqlite`` (Spider and BIRD; test-suite
databases add more ``.sqlite`` files in that folder, see :func:`database_variants`) or at
``<root>/<db_id>.sqlite``.
A ground truth is ``"SQL"``, ``{"sql"|"query"|"SQL": ..., "db_path"|"db_id": ..., "schema"?}``
or a JSON string of that.

>>> db_file("data/database", "concert_singer")
'data/database/concert_singer/concert_singer.sqlite'
>>> parse_ground_truth('{"sql": "SELECT 1", "db_path": "x.sqlite"}').db_paths
['x.sqlite']
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from extensions._util.log import log_once
from extensions._util.nesting import json_loads_bounded

log = logging.getLogger(__name__)

_DB_KEYS = ("db_path", "db_id", "db_root")
SQLITE_HEADER = b"SQLite format 3\x00"
_VARIANTS_MAX = 4096
_variants: dict[tuple[str, str, int, int], list[str]] = {}  # (folder, db_id, mtime_ns, inode) -> variants


@dataclass
class GroundTruth:
    """A parsed ground truth: the gold SQL, its database files, an optional schema, or an error."""

    sql: str | None
    db_paths: list[str]
    schema: Any = None
    error: str | None = None

    @property
    def db_path(self) -> str | None:
        return self.db_paths[0] if self.db_paths else None


def db_file(root: str, db_id: str) -> str:
    """The main database file of ``db_id`` under ``root``: ``<root>/<db_id>/<db_id>.sqlite``."""
    return os.path.join(root, db_id, f"{db_id}.sqlite")


def is_database_variant(path: str) -> bool:
    """Whether a file counts as a test-suite variant of the database in its folder.

    A variant is a visible ``*.sqlite`` name (not starting with ``.``: macOS ``._x.sqlite`` resource forks,
    editor and backup files), a regular file (a link is followed; a dangling one or a folder is not a
    variant), and it starts with SQLite's 16-byte header (an empty or foreign file is not).

    Args:
        path: the file.

    Returns:
        True when the reward should run on it too.

    >>> is_database_variant("/no/such/x.sqlite")
    False
    """
    name = os.path.basename(path)
    if name.startswith(".") or not name.endswith(".sqlite"):
        return False
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as fh:
            return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def database_variants(folder: str, db_id: str) -> list[str]:
    """The test-suite variants in ``folder`` besides ``<db_id>.sqlite``, sorted (see :func:`is_database_variant`).

    Remembered per folder until the folder's entries change; stray ``*.sqlite`` names that are not
    variants are logged once per folder.

    Args:
        folder: ``<root>/<db_id>``.
        db_id: the database name.

    Returns:
        Paths of the variants (often none).

    >>> database_variants("/no/such/folder", "x")
    []
    """
    try:
        st = os.stat(folder)
        key = (folder, db_id, st.st_mtime_ns, st.st_ino)
        if key not in _variants:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".sqlite") and n != f"{db_id}.sqlite")
            found = [os.path.join(folder, n) for n in names if is_database_variant(os.path.join(folder, n))]
            if len(found) < len(names):
                stray = [n for n in names if os.path.join(folder, n) not in found]
                log_once(
                    log,
                    f"variants:{folder}",
                    "%s: not used as database variants (hidden, not a regular file, or not SQLite): %s",
                    folder,
                    ", ".join(stray[:5]),
                )
            if len(_variants) >= _VARIANTS_MAX:
                _variants.clear()
            _variants[key] = found
        return list(_variants[key])
    except OSError:
        return []


def resolve_db_paths(db_id: str, db_root: str | None) -> list[str]:
    """``db_root/db_id/db_id.sqlite`` and its test-suite variants, or ``db_root/db_id.sqlite``.

    Args:
        db_id: the database name; names with ``/`` or ``..`` resolve to nothing.
        db_root: the folder holding the databases.

    Returns:
        The files to run on, main file first (empty when ``db_id`` or ``db_root`` is unusable). The main
        file is named even when it is missing, unless variants exist, so the reward reports ``db_missing``.

    >>> resolve_db_paths("../etc", "/data")
    []
    """
    if not db_root or not db_id or not isinstance(db_id, str) or "/" in db_id or ".." in db_id:
        return []
    folder = os.path.join(db_root, db_id)
    main = db_file(db_root, db_id)
    if os.path.isdir(folder):
        others = database_variants(folder, db_id)
        return ([main] if os.path.exists(main) or not others else []) + others
    flat = os.path.join(db_root, f"{db_id}.sqlite")
    return [flat] if os.path.exists(flat) else [main]


def row_ground_truth(ground_truth: Mapping[str, Any], *, db_root: str | None = None) -> dict[str, str]:
    """The ground truth a training or adapter row carries: the SQL and where its database is.

    A ``db_path`` is kept as is. A ``db_id`` is resolved under ``db_root`` (:func:`resolve_db_paths`:
    the main file); without ``db_root`` it stays a ``db_id``, which the reward resolves under
    ``data.db_root`` (:func:`parse_ground_truth`).

    Args:
        ground_truth: a prepared row's ground truth (``sql``/``query``/``SQL``, ``db_path`` or ``db_id``).
        db_root: the folder of ``<db_id>/<db_id>.sqlite``.

    Returns:
        ``{"sql", "db_path"}``, or ``{"sql", "db_id"}`` when no path can be named.

    Raises:
        extensions.errors.DataError: no SQL, or neither ``db_path`` nor ``db_id``.

    >>> row_ground_truth({"sql": "SELECT 1", "db_id": "hr"}, db_root="data/database")
    {'sql': 'SELECT 1', 'db_path': 'data/database/hr/hr.sqlite'}
    >>> row_ground_truth({"sql": "SELECT 1", "db_id": "hr"})
    {'sql': 'SELECT 1', 'db_id': 'hr'}
    """
    from extensions.errors import DataError

    sql = ground_truth.get("sql", ground_truth.get("query", ground_truth.get("SQL")))
    if not isinstance(sql, str) or not sql.strip():
        raise DataError("ground truth has no 'sql'")
    path, db_id = ground_truth.get("db_path"), ground_truth.get("db_id")
    if isinstance(path, str) and path:
        return {"sql": sql, "db_path": path}
    if not isinstance(db_id, str) or not db_id:
        raise DataError(f"ground truth names no database (db_path or db_id): {sorted(ground_truth)}")
    paths = resolve_db_paths(db_id, db_root)
    return {"sql": sql, "db_path": paths[0]} if paths else {"sql": sql, "db_id": db_id}


def _decode(ground_truth: Any) -> Any:
    """Bytes as text, and text that opens with ``{`` (never SQL) as JSON.

    Raises:
        ValueError: text that opens with ``{`` but is not JSON (or is nested too deeply).
    """
    if isinstance(ground_truth, (bytes, bytearray)):
        ground_truth = bytes(ground_truth).decode("utf-8", errors="replace")
    if isinstance(ground_truth, str) and ground_truth.lstrip().startswith("{"):
        return json_loads_bounded(ground_truth)
    return ground_truth


def parse_ground_truth(
    ground_truth: Any, *, db_path: str | None = None, db_root: str | None = None, extra: Mapping[str, Any] | None = None
) -> GroundTruth:
    """Read any accepted ground-truth shape; never raises.

    Args:
        ground_truth: ``"SQL"``, a mapping, or a JSON string of a mapping.
        db_path: the database file when the ground truth names none.
        db_root: the folder for a ``db_id``.
        extra: verl's ``extra_info``; its ``db_path``/``db_id``/``db_root`` fill what the ground truth lacks.

    Returns:
        A :class:`GroundTruth`; ``error`` is set when it cannot be used.

    >>> parse_ground_truth({"query": "SELECT 1"}, db_path="a.sqlite").sql
    'SELECT 1'
    """
    try:
        ground_truth = _decode(ground_truth)
    except ValueError as exc:
        return GroundTruth(None, [], error=f"ground_truth opens with '{{' but is not JSON: {exc}"[:200])
    if isinstance(extra, Mapping) and any(extra.get(k) for k in _DB_KEYS):
        if isinstance(ground_truth, str):
            ground_truth = {"sql": ground_truth}
        if isinstance(ground_truth, Mapping):
            from_extra = {k: extra[k] for k in _DB_KEYS if extra.get(k)}
            ground_truth = {**from_extra, **{k: v for k, v in ground_truth.items() if v}}
    if isinstance(ground_truth, str):
        return GroundTruth(ground_truth, [db_path] if db_path else [])
    if not isinstance(ground_truth, Mapping):
        return GroundTruth(None, [], error=f"ground_truth must be str or dict, got {type(ground_truth).__name__}")
    sql = ground_truth.get("sql", ground_truth.get("query", ground_truth.get("SQL")))
    if not isinstance(sql, str) or not sql.strip():
        return GroundTruth(None, [], error="ground_truth has no 'sql'")
    path = ground_truth.get("db_path") or db_path
    root = ground_truth.get("db_root") or db_root
    if isinstance(path, str) and path:
        return GroundTruth(sql, [path], ground_truth.get("schema"))
    if ground_truth.get("db_id") is not None:
        db_id = str(ground_truth.get("db_id"))
        paths = resolve_db_paths(db_id, root)
        if not paths:
            error = f"db_id {db_id[:80]!r} is not a database name" if root else "db_id given but no db_root configured"
            return GroundTruth(sql, [], ground_truth.get("schema"), error=error)
        return GroundTruth(sql, paths, ground_truth.get("schema"))
    return GroundTruth(sql, [], ground_truth.get("schema"))


def read_parquet(path: str) -> list[dict]:
    """All rows of a parquet file, as dicts.

    Args:
        path: the ``.parquet`` file.

    Returns:
        One dict per row, columns as keys.

    Raises:
        extensions.errors.DataError: the file is missing or pyarrow is not installed.

    >>> read_parquet("no/such/file.parquet")
    Traceback (most recent call last):
    ...
    extensions.errors.DataError: missing file: no/such/file.parquet
    """
    from extensions.errors import DataError

    if not os.path.exists(path):
        raise DataError(f"missing file: {path}")
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise DataError(f"reading {path} needs pyarrow (pip install pyarrow): {exc}") from exc
    return pq.read_table(path).to_pylist()


def read_prepared(path: str) -> list[dict]:
    """Rows of a prepared parquet file (``python -m extensions.data prepare``), or of ``<path>/train.parquet``.

    Args:
        path: a ``.parquet`` file or a folder holding ``train.parquet``.

    Returns:
        Dicts with ``prompt`` (chat messages), ``ground_truth`` (``{"sql", "db_path", "db_id"}``) and the row's
        other columns (``data_source``, ``extra_info``).

    Raises:
        extensions.errors.DataError: the file is missing, pyarrow is not installed, or a row's
            ``reward_model.ground_truth`` is neither a mapping nor (JSON of) a mapping or SQL string.
    """
    from extensions.errors import DataError

    if os.path.isdir(path):
        path = os.path.join(path, "train.parquet")
    rows = []
    for i, r in enumerate(read_parquet(path)):
        rm = r.get("reward_model")
        try:
            gt = _decode(rm.get("ground_truth") if isinstance(rm, Mapping) else None)
        except ValueError as exc:
            raise DataError(f"{path}: row {i}: reward_model.ground_truth is not valid JSON: {exc}") from None
        if isinstance(gt, str):
            gt = {"sql": gt}
        if not isinstance(gt, Mapping):
            raise DataError(
                f"{path}: row {i}: reward_model.ground_truth must be a mapping, JSON or SQL, got {type(gt).__name__}"
            )
        prompt = r.get("prompt")
        if not isinstance(prompt, (list, tuple)) or not all(isinstance(m, Mapping) for m in prompt):
            raise DataError(f"{path}: row {i}: prompt must be a list of chat messages")
        rows.append({**r, "prompt": [dict(m) for m in prompt], "ground_truth": dict(gt)})
    return rows
