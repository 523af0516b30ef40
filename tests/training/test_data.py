"""Training rows from a prepared parquet whose ground truths name a db_id, not a path."""

from __future__ import annotations

import os

import pytest

from extensions.data.checks import check_training_rows
from extensions.data.prepare import write_parquet
from extensions.errors import DataError
from extensions.training.data import parquet_rows
from tests.conftest import require

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


def test_a_model_that_cannot_load_stops_the_demo_instead_of_swapping_in_the_tiny_one(tmp_path, monkeypatch):
    require("transformers")
    from extensions.config import load_config
    from extensions.training.model import load_policy

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = load_config(overrides=[f"optimization.model_name={tmp_path / 'no-such-model'}"])
    with pytest.raises(SystemExit, match="cannot load model"):
        load_policy(cfg, demo=True, gpu=False, seed=0)


def test_spider_rows_keep_every_held_out_database_apart(spider_dev):
    from extensions.data.spider_split import HELDOUT_DBS
    from extensions.training.data import spider_rows

    train, held = spider_rows(str(spider_dev), "compact_sql")
    assert {r["db_id"] for r in held} == set(HELDOUT_DBS)
    assert not {r["db_id"] for r in train} & set(HELDOUT_DBS)
    assert not any(r["skeleton_seen"] for r in held)  # other databases' names: no skeleton crosses over
    assert "pk" in held[0]["prompt"][-1]["content"] and " fk " in "\n".join(r["prompt"][-1]["content"] for r in held)


def test_an_over_long_prompt_is_a_config_error():
    require("transformers")
    from extensions.errors import ConfigError
    from extensions.training.runner import check_prompt_lengths
    from extensions.training.tiny import build_tokenizer

    tok = build_tokenizer()
    rows = [{"prompt": [{"role": "user", "content": "select name from t " * 60}]}]
    n = len(tok(tok.apply_chat_template(rows[0]["prompt"], tokenize=False, add_generation_prompt=True))["input_ids"])
    check_prompt_lengths(tok, rows, n)
    with pytest.raises(ConfigError, match=f"max_prompt_length={n - 1}: 1 of 1 prompts are longer"):
        check_prompt_lengths(tok, rows, n - 1)


def test_multi_turn_rows_are_read_and_checked_as_single_turn_rows_are(demo_dir, tmp_path, engine, capsys):
    """One loader: data.db_root resolves the databases, a failing gold is dropped and reported the same way."""
    require("torch")  # the multi-turn module imports the runner
    from extensions.config import load_config
    from extensions.tool.prompt import TOOL_NAME
    from extensions.training.data import training_rows
    from extensions.training.multiturn import multi_turn_rows

    root = os.path.join(demo_dir, "database")
    golds = [{"sql": GOLD, "db_id": "hr"}] * 3 + [{"sql": "SELECT no_such_column FROM employees", "db_id": "hr"}]
    _parquet(tmp_path / "train.parquet", golds)
    cfg = load_config(overrides=[f"data.db_root={root}"], env=False)
    train, held = training_rows(cfg, str(tmp_path), "compact", engine)
    single = capsys.readouterr().err
    rows = multi_turn_rows(cfg, str(tmp_path), tiny=True, engine=engine)
    assert capsys.readouterr().err == single
    assert "[data] 3 training rows (1 dropped: 1 gold errors, 0 empty results, 0 missing databases)" in single
    assert held == [] and [r["ground_truth"] for r in rows] == [r["ground_truth"] for r in train]
    assert all(r["ground_truth"]["db_path"] == os.path.join(root, "hr", "hr.sqlite") for r in rows)
    assert all(TOOL_NAME in r["prompt"][0]["content"] for r in rows)
