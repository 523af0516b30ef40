"""Prompt rows for trainer adapters, from the demo set, a prepared parquet file or a Spider folder.

Each row is ``{"prompt": chat messages, "answer": JSON ground truth, "db_id": str}``; the answer is
``{"sql", "db_path"}`` (or ``{"sql", "db_id"}``, resolved by the reward under ``data.db_root``) as a
JSON string, which every reward entry point reads.

>>> import os, tempfile
>>> os.environ.setdefault("EXTENSIONS_DEMO_DIR", tempfile.mkdtemp())  # doctest: +ELLIPSIS
'...'
>>> row = sql_rows(None)[0]
>>> sorted(row), row["prompt"][-1]["role"]
(['answer', 'db_id', 'prompt'], 'user')
"""

from __future__ import annotations

import json
import os

from extensions.data.layout import read_prepared, row_ground_truth
from extensions.errors import DataError


def _row(prompt: list[dict], ground_truth: dict, db_id: str) -> dict:
    return {"prompt": [dict(m) for m in prompt], "answer": json.dumps(ground_truth), "db_id": db_id}


def _prepared_rows(dataset: str, db_root: str | None) -> list[dict]:
    rows = []
    for i, r in enumerate(read_prepared(dataset)):
        try:
            gt = row_ground_truth(r["ground_truth"], db_root=db_root)
        except DataError as exc:
            raise DataError(f"{dataset}: row {i}: {exc}") from None
        rows.append(_row(r["prompt"], gt, str(r["ground_truth"].get("db_id") or "")))
    return rows


def _examples(source: str, path: str | None, split: str) -> list:
    from extensions.data.prepare import demo_examples_for, spider_examples

    if source == "demo":  # every demo question: the train and val splits together
        return demo_examples_for("train", 0.1, 0) + demo_examples_for("val", 0.1, 0)
    try:
        return spider_examples(path, split)  # type: ignore[arg-type]
    except DataError:
        return spider_examples(path, "dev")  # a dev-only copy


def sql_rows(
    dataset: str | None,
    *,
    split: str = "train",
    style: str = "sql_r1",
    max_examples: int | None = None,
    db_root: str | None = None,
) -> list[dict]:
    """The rows of ``dataset``.

    Args:
        dataset: ``None`` or ``"demo"`` (the bundled demo databases), a prepared ``.parquet`` file or a folder
            holding ``train.parquet`` (``python -m extensions.data prepare``), or a Spider folder
            (``dev.json``/``train_spider.json`` and ``database/``).
        split: ``train`` or ``dev`` for a Spider folder (a copy with only ``dev.json`` uses it).
        style: the prompt template for the demo and Spider sources (``sql_r1`` or ``omnisql``).
        max_examples: keep at most this many rows.
        db_root: where a prepared row's ``db_id`` is resolved (see
            :func:`extensions.data.layout.row_ground_truth`); without it the answer keeps the ``db_id``.

    Returns:
        Rows with ``prompt``, ``answer`` and ``db_id``.

    Raises:
        DataError: the dataset is missing or malformed (a row names no SQL or no database).
    """
    from extensions.data.prepare import to_rows

    if dataset and (dataset.endswith(".parquet") or os.path.exists(os.path.join(dataset, "train.parquet"))):
        rows = _prepared_rows(dataset, db_root)
        return rows[:max_examples] if max_examples else rows
    if dataset not in (None, "", "demo") and not os.path.isdir(dataset):
        raise DataError(f"dataset {dataset!r}: not a .parquet file, a prepared folder or a Spider folder")
    source = "demo" if dataset in (None, "", "demo") else "spider"
    examples = _examples(source, dataset, split)
    if max_examples:
        examples = examples[:max_examples]
    out = []
    for r in to_rows(examples, source=source, split=split, style=style, sample_k=3):
        gt = r["reward_model"]["ground_truth"]
        out.append(_row(r["prompt"], {"sql": gt["sql"], "db_path": gt["db_path"]}, gt["db_id"]))
    return out
