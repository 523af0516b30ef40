"""Training rows: the bundled demo set split into train and held-out prompts, or a prepared parquet file.

The held-out split is fixed (it does not depend on the training seed), so every run, seed and ablation
arm is measured on the same prompts. A held-out prompt never appears in training: examples are grouped
by their gold SQL and whole groups go to one side, so a held-out question may share a template with a
training question but never its slot values.

>>> train, held = split_demo([{"question": f"q{i}", "query": f"SELECT {i}", "db_id": "hr"} for i in range(10)], 0.3)
>>> len(train) + len(held), not {e["query"] for e in train} & {e["query"] for e in held}
(10, True)
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from typing import Any

from extensions.config import Config
from extensions.data.checks import Report, check_training_rows
from extensions.execution.engine import ExecutionEngine

HELDOUT_FRACTION = 0.2
THINK = "<think>Find the tables and columns the question needs.</think>"
# The real-model demo's prompt: the compact schema, and a system line asking for the bare query.
SQL_SYSTEM = "Write one SQLite query that answers the question. Reply with only the query in a ```sql block."
STYLES = ("compact", "compact_sql", "sql_r1", "omnisql")


def gold_completion(sql: str) -> str:
    """The answer a supervised warm-up teaches: a short think block and the SQL in a fenced block.

    Args:
        sql: the gold SQL.

    Returns:
        The completion text in the SQL-R1 answer format.

    >>> gold_completion("SELECT 1").endswith("```sql\\nSELECT 1\\n```</answer>")
    True
    """
    return f"{THINK}<answer>```sql\n{sql}\n```</answer>"


def fenced_sql(sql: str) -> str:
    """The answer the real-model warm-up teaches (prompt style ``compact_sql``): the SQL in a fenced block.

    Args:
        sql: the gold SQL.

    Returns:
        The completion text.

    >>> fenced_sql("SELECT 1")
    '```sql\\nSELECT 1\\n```'
    """
    return f"```sql\n{sql}\n```"


def answer_for(style: str) -> Callable[[str], str]:
    """The gold completion format that matches a prompt style.

    Args:
        style: a prompt style of :data:`STYLES`.

    Returns:
        :func:`fenced_sql` for ``compact_sql``, else :func:`gold_completion`.

    >>> answer_for("compact_sql")("SELECT 1").startswith("```sql")
    True
    """
    return fenced_sql if style == "compact_sql" else gold_completion


def _bucket(sql: str) -> float:
    digest = hashlib.sha1(("heldout-v1:" + " ".join(sql.lower().split())).encode()).hexdigest()
    return int(digest[:8], 16) / 0xFFFFFFFF


def split_demo(examples: list[dict], fraction: float = HELDOUT_FRACTION) -> tuple[list[dict], list[dict]]:
    """Split examples into (train, held-out) by a hash of the normalised gold SQL.

    Args:
        examples: dicts with ``query`` (gold SQL).
        fraction: the share of gold queries held out.

    Returns:
        ``(train, held_out)``; no gold query appears on both sides.

    >>> split_demo([], 0.5)
    ([], [])
    """
    train = [e for e in examples if _bucket(e["query"]) >= fraction]
    held = [e for e in examples if _bucket(e["query"]) < fraction]
    return train, held


def _to_row(example: dict, db_path: str, style: str, sample_k: int, cache: dict[str, str]) -> dict[str, Any]:
    from extensions.data.templates import build_prompt, compact_schema, render_schema, typed_schema
    from extensions.execution.introspect import load_schema, sample_values
    from extensions.sql.skeleton import skeleton_id

    compact = style.startswith("compact")
    if db_path not in cache:
        schema = load_schema(db_path)
        if style == "compact_sql":
            cache[db_path] = typed_schema(schema)
        else:
            cache[db_path] = (
                compact_schema(schema) if compact else render_schema(schema, sample_values(db_path, sample_k))
            )
    prompt = build_prompt("compact" if compact else style, cache[db_path], example["question"])
    if style == "compact_sql":
        prompt = [{"role": "system", "content": SQL_SYSTEM}, *prompt[1:]]
    return {
        "prompt": prompt,
        "ground_truth": {"sql": example["query"], "db_path": db_path},
        "db_id": example["db_id"],
        "skeleton": skeleton_id(example["query"]),
    }


def demo_rows(style: str, sample_k: int = 3) -> tuple[list[dict], list[dict]]:
    """Demo rows ``{"prompt", "ground_truth": {"sql", "db_path"}, "db_id", "skeleton"}`` for training and held out.

    The bundled questions plus the slot-template questions (many numeric values per question shape). The split
    keeps a gold query on one side; a held-out question may still share its skeleton (the query with its values
    masked, :mod:`extensions.sql.skeleton`) with training questions, which :func:`mark_seen_skeletons` records.

    Args:
        style: prompt style of :data:`STYLES` (``compact`` for the tiny model, ``compact_sql`` for SmolLM2).
        sample_k: sample values per column in a rendered schema (``data.sample_values``).

    Returns:
        ``(train_rows, heldout_rows)``.
    """
    from extensions.data.demo import build_demo_databases, demo_examples, slot_examples

    paths = build_demo_databases()
    cache: dict[str, str] = {}
    train, held = split_demo(demo_examples() + slot_examples())

    def rows(exs: list[dict]) -> list[dict]:
        return [_to_row(e, os.path.abspath(paths[e["db_id"]]), style, sample_k, cache) for e in exs]

    return rows(train), mark_seen_skeletons(rows(train), rows(held))


def spider_rows(spider_dir: str, style: str, sample_k: int = 3) -> tuple[list[dict], list[dict]]:
    """Rows of the cross-database Spider split (:mod:`extensions.data.spider_split`): no database on both sides.

    Args:
        spider_dir: a Spider folder with ``dev.json`` and ``database/`` (``data.spider_dir``).
        style: prompt style of :data:`STYLES`.
        sample_k: sample values per column in a rendered schema.

    Returns:
        ``(train_rows, heldout_rows)`` in ``dev.json`` order, rows as in :func:`demo_rows`.

    Raises:
        DataError: ``dev.json`` cannot be read, or one side has no question (the databases are missing).
    """
    from extensions.data.layout import db_file
    from extensions.data.spider_split import read_examples, split_examples
    from extensions.errors import DataError

    root = os.path.abspath(os.path.join(spider_dir, "database"))
    cache: dict[str, str] = {}
    train, held = split_examples(read_examples(spider_dir))
    if not train or not held:
        raise DataError(f"{spider_dir}: the Spider split needs questions on both sides (databases missing?)")

    def rows(exs: list) -> list[dict]:
        return [_to_row(vars(e), db_file(root, e.db_id), style, sample_k, cache) for e in exs]

    return rows(train), mark_seen_skeletons(rows(train), rows(held))


def mark_seen_skeletons(train: list[dict], held: list[dict]) -> list[dict]:
    """Held-out rows with ``skeleton_seen``: whether a training row has the same skeleton.

    Args:
        train: training rows (with ``skeleton``).
        held: held-out rows (with ``skeleton``).

    Returns:
        New held-out rows with ``skeleton_seen`` (bool) added.

    >>> mark_seen_skeletons([{"skeleton": "a"}], [{"skeleton": "a"}, {"skeleton": "b"}])
    [{'skeleton': 'a', 'skeleton_seen': True}, {'skeleton': 'b', 'skeleton_seen': False}]
    """
    seen = {r["skeleton"] for r in train}
    return [{**r, "skeleton_seen": r["skeleton"] in seen} for r in held]


def parquet_rows(folder: str, *, db_root: str | None = None) -> list[dict]:
    """Training rows of a prepared parquet file (or ``<folder>/train.parquet``).

    Args:
        folder: the output folder of ``python -m extensions.data prepare``, or a parquet file.
        db_root: where a ground truth's ``db_id`` is resolved (``data.db_root``), for rows without ``db_path``.

    Returns:
        Rows with ``prompt`` and ``ground_truth`` (``sql`` and ``db_path``; ``db_id`` when no path can be named,
        see :func:`extensions.data.layout.row_ground_truth`).

    Raises:
        DataError: the file is missing or a row names no SQL or no database.
    """
    from extensions.data.layout import read_prepared, row_ground_truth
    from extensions.errors import DataError

    rows = []
    for i, r in enumerate(read_prepared(folder)):
        try:
            rows.append({"prompt": r["prompt"], "ground_truth": row_ground_truth(r["ground_truth"], db_root=db_root)})
        except DataError as exc:
            raise DataError(f"{folder}: row {i}: {exc}") from None
    return rows


def training_rows(cfg: Config, data: str | None, style: str, engine: ExecutionEngine) -> tuple[list[dict], list[dict]]:
    """The rows of a run, every gold executed first: single-turn, multi-turn, the demo and the ablation read here.

    Training rows whose gold fails, whose database is missing or whose gold returns nothing are dropped; held-out
    rows keep the empty ones (:func:`extensions.data.checks.check_training_rows`). One line on stderr reports
    what was kept and dropped.

    Args:
        cfg: the run configuration (``data.db_root``, ``data.spider_dir``, ``data.sample_values``).
        data: ``spider`` (:func:`spider_rows`), a prepared folder or parquet file (:func:`parquet_rows`, with
            ``val.parquet`` next to it as the held-out rows), or None / ``demo`` (:func:`demo_rows`).
        style: the prompt style of the bundled or Spider rows (a prepared file has its prompts already).
        engine: the sandbox that runs the golds.

    Returns:
        ``(train_rows, heldout_rows)``, checked.

    Raises:
        DataError: no rows, or more than half of the training rows unusable.

    >>> from extensions.config import load_config
    >>> cfg = load_config()
    >>> engine = ExecutionEngine(cfg.execution.engine_settings())
    >>> train, held = training_rows(cfg, "demo", "compact", engine)
    >>> len(train) > len(held) > 0
    True
    >>> engine.close()
    """
    if data == "spider":
        train, held = spider_rows(cfg.data.spider_dir, style, cfg.data.sample_values)
    elif data and data != "demo":
        train, held = parquet_rows(data, db_root=cfg.data.db_root), []
        val = os.path.join(data, "val.parquet")
        if os.path.isdir(data) and os.path.exists(val):
            held = parquet_rows(val, db_root=cfg.data.db_root)
    else:
        train, held = demo_rows(style, cfg.data.sample_values)
    train, report = check_training_rows(train, engine=engine)
    if held:
        held, _ = check_training_rows(held, engine=engine, drop_empty=False)
    print(_report_line(report, len(train), len(held)), file=sys.stderr)
    return train, held


def _report_line(report: Report, kept: int, held: int) -> str:
    return (
        f"[data] {kept} training rows ({report.total - kept} dropped: {len(report.gold_errors)} gold errors, "
        f"{len(report.empty_results)} empty results, {len(report.missing_databases)} missing databases); "
        f"{held} held-out rows"
    )
