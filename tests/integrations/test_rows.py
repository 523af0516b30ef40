"""Adapter rows from the three sources: demo, a prepared parquet (file or folder), a Spider folder."""

from __future__ import annotations

import json
import os

import pytest

from extensions.data.prepare import prepare
from extensions.errors import DataError
from extensions.integrations.rows import sql_rows


def _check(rows):
    assert rows and all(sorted(r) == ["answer", "db_id", "prompt"] for r in rows)
    assert all(r["prompt"][-1]["role"] == "user" and os.path.exists(json.loads(r["answer"])["db_path"]) for r in rows)


def test_demo_and_prepared_parquet(demo_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    demo = sql_rows(None)
    _check(demo)
    paths = prepare("demo", str(tmp_path), max_examples=5)
    from_file, from_folder = sql_rows(paths["train"]), sql_rows(str(tmp_path))
    _check(from_file)
    assert from_file == from_folder and len(from_file) == 5
    assert {r["answer"] for r in from_file} <= {r["answer"] for r in demo}
    assert len(sql_rows(paths["train"], max_examples=2)) == 2


def test_spider_folder(spider_dev):
    rows = sql_rows(str(spider_dev), max_examples=3, style="omnisql")
    _check(rows)
    assert [r["db_id"] for r in rows] == [e["db_id"] for e in json.loads((spider_dev / "dev.json").read_text())[:3]]


@pytest.mark.parametrize("bad", ["/nonexistent/train.parquet", "/nonexistent-folder"])
def test_missing_dataset_is_a_data_error(bad):
    with pytest.raises(DataError):
        sql_rows(bad)
