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


PROMPT = [{"role": "user", "content": "How many employees are there?"}]
GOLD = "SELECT count(*) FROM employees"


def _db_id_parquet(path, ground_truths):
    from extensions.data.prepare import write_parquet

    rows = [
        {"prompt": PROMPT, "data_source": "x", "reward_model": {"style": "rule", "ground_truth": gt}}
        for gt in ground_truths
    ]
    write_parquet(rows, str(path))
    return str(path)


@pytest.mark.parametrize("as_json", [False, True], ids=["struct", "json-string"])
def test_prepared_rows_with_only_a_db_id(demo_dir, tmp_path, as_json):
    gt = {"sql": GOLD, "db_id": "hr"}
    path = _db_id_parquet(tmp_path / "t.parquet", [json.dumps(gt) if as_json else gt])
    kept = sql_rows(path)  # no db_root: the answer keeps the db_id for the reward to resolve
    assert json.loads(kept[0]["answer"]) == gt and kept[0]["db_id"] == "hr"
    root = os.path.join(demo_dir, "database")
    resolved = sql_rows(path, db_root=root)
    assert json.loads(resolved[0]["answer"]) == {"sql": GOLD, "db_path": os.path.join(root, "hr", "hr.sqlite")}


def test_db_id_answer_scores_through_the_reward_with_data_db_root(demo_dir, tmp_path):
    from extensions.config import load_config
    from extensions.rewards.combine import RewardComputer

    path = _db_id_parquet(tmp_path / "t.parquet", [{"sql": GOLD, "db_id": "hr"}])
    answer = sql_rows(path)[0]["answer"]
    cfg = load_config(overrides=[f"data.db_root={demo_dir}/database", "execution.workers=1"])
    r = RewardComputer(cfg).compute_reward("```sql\nSELECT count(id) FROM employees\n```", answer)
    assert r.details["status"] == "ok" and r.breakdown["correct"] == 1.0


@pytest.mark.parametrize("gt", [{"sql": GOLD}, {"db_id": "hr"}, {"sql": GOLD, "db_id": ""}])
def test_prepared_row_without_sql_or_database_is_a_data_error(tmp_path, gt):
    path = _db_id_parquet(tmp_path / "t.parquet", [gt])
    with pytest.raises(DataError, match="row 0"):
        sql_rows(path)
