"""Training rows from a prepared parquet whose ground truths name a db_id, not a path."""

from __future__ import annotations

import os

import pytest

from extensions.data.checks import check_training_rows
from extensions.data.prepare import write_parquet
from extensions.errors import DataError
from extensions.training.data import parquet_rows

PROMPT = [{"role": "user", "content": "How many employees are there?"}]
GOLD = "SELECT count(*) FROM employees"


def _parquet(path, ground_truths) -> str:
    rows = [{"prompt": PROMPT, "reward_model": {"style": "rule", "ground_truth": gt}} for gt in ground_truths]
    write_parquet(rows, str(path))
    return str(path)


def test_db_id_rows_resolve_under_db_root_and_pass_the_gold_check(demo_dir, tmp_path, engine):
    root = os.path.join(demo_dir, "database")
    path = _parquet(
        tmp_path / "train.parquet", [{"sql": GOLD, "db_id": "hr"}, {"sql": GOLD, "db_id": "hr", "db_path": ""}]
    )
    rows = parquet_rows(str(tmp_path), db_root=root)
    assert [r["ground_truth"] for r in rows] == [{"sql": GOLD, "db_path": os.path.join(root, "hr", "hr.sqlite")}] * 2
    kept, report = check_training_rows(rows, engine=engine)
    assert len(kept) == 2 and report.statuses.get("ok") == 2
    assert parquet_rows(path)[0]["ground_truth"] == {"sql": GOLD, "db_id": "hr"}  # no db_root: kept for the reward


def test_db_path_rows_are_kept_as_they_are(tmp_path):
    path = _parquet(tmp_path / "t.parquet", [{"sql": GOLD, "db_path": "/data/hr.sqlite", "db_id": "hr"}])
    assert parquet_rows(path, db_root="/elsewhere")[0]["ground_truth"] == {"sql": GOLD, "db_path": "/data/hr.sqlite"}


def test_a_row_naming_no_database_is_a_data_error(tmp_path):
    path = _parquet(tmp_path / "t.parquet", [{"sql": GOLD}])
    with pytest.raises(DataError, match="row 0: ground truth names no database"):
        parquet_rows(path)
