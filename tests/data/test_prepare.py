import json
import os
import shutil
import sqlite3

import pytest

from extensions.data.__main__ import main as data_main
from extensions.data.layout import read_parquet
from extensions.data.prepare import prepare
from extensions.data.synth import synthesize_database
from extensions.data.templates import build_prompt, render_schema
from extensions.errors import DataError
from extensions.execution.introspect import load_schema
from tests.conftest import FIXTURES, require

require("pyarrow")


def _check_rows(rows, source):
    assert rows
    for r in rows:
        assert r["data_source"] == source and r["ability"] == "text2sql"
        assert r["reward_model"]["style"] == "rule"
        gt = r["reward_model"]["ground_truth"]
        assert gt["sql"] and os.path.isabs(gt["db_path"]) and os.path.exists(gt["db_path"])
        assert r["prompt"][-1]["role"] == "user" and "CREATE TABLE" in r["prompt"][-1]["content"]


def test_demo(tmp_path, demo_dir, monkeypatch):
    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    out = prepare("demo", str(tmp_path), style="omnisql")
    train, val = read_parquet(out["train"]), read_parquet(out["val"])
    _check_rows(train, "demo")
    assert len(train) + len(val) >= 300
    assert "```sql" in train[0]["prompt"][0]["content"]
    assert not {r["extra_info"]["question"] for r in train} & {r["extra_info"]["question"] for r in val}


def _spider_like(tmp_path, demo_dir):
    root = tmp_path / "spider"
    shutil.copytree(os.path.join(demo_dir, "database"), root / "database")
    ex = json.load(open(os.path.join(demo_dir, "dev.json")))
    json.dump(ex[:40], open(root / "train_spider.json", "w"))
    json.dump(ex[40:60], open(root / "dev.json", "w"))
    return root, ex


def test_spider_layout(tmp_path, demo_dir):
    root, _ = _spider_like(tmp_path, demo_dir)
    out = prepare("spider", str(tmp_path / "out"), path=str(root))
    assert len(read_parquet(out["train"])) == 40 and len(read_parquet(out["val"])) == 20
    _check_rows(read_parquet(out["train"]), "spider")


def test_bird_layout_with_evidence(tmp_path, demo_dir):
    root = tmp_path / "bird" / "dev"
    shutil.copytree(os.path.join(demo_dir, "database"), root / "dev_databases")
    ex = json.load(open(os.path.join(demo_dir, "dev.json")))[:10]
    json.dump(
        [
            {"db_id": e["db_id"], "question": e["question"], "SQL": e["query"], "evidence": "salary means yearly pay"}
            for e in ex
        ],
        open(root / "dev.json", "w"),
    )
    out = prepare("bird", str(tmp_path / "out"), path=str(tmp_path / "bird"))
    rows = read_parquet(out["train"]) + read_parquet(out["val"])
    assert len(rows) == 10 and "Evidence: salary means yearly pay" in rows[0]["prompt"][-1]["content"]


def test_synsql_layout(tmp_path, demo_dir):
    root = tmp_path / "synsql"
    shutil.copytree(os.path.join(demo_dir, "database"), root / "databases")
    ex = json.load(open(os.path.join(demo_dir, "dev.json")))[:12]
    json.dump(
        [{"db_id": e["db_id"], "question": e["question"], "sql": e["query"], "external_knowledge": ""} for e in ex],
        open(root / "data.json", "w"),
    )
    out = prepare("synsql", str(tmp_path / "out"), path=str(root))
    assert len(read_parquet(out["train"])) + len(read_parquet(out["val"])) == 12


def test_sql_create_context_synthesizes_nonempty_instances(tmp_path, capsys):
    out = prepare(
        "sql_create_context", str(tmp_path / "out"), path=str(FIXTURES / "sql_create_context.jsonl"), val_fraction=0.2
    )
    rows = read_parquet(out["train"]) + read_parquet(out["val"])
    assert len(rows) == 6  # the broken schema row is reported and skipped
    assert "cannot synthesize" in capsys.readouterr().err
    nonempty = 0
    for r in rows:
        gt = r["reward_model"]["ground_truth"]
        res = sqlite3.connect(gt["db_path"]).execute(gt["sql"]).fetchall()
        nonempty += bool(res) and res != [(0,)]
    assert nonempty == len(rows)
    # One instance per distinct schema text (4 here), cached by hash.
    assert len({r["reward_model"]["ground_truth"]["db_path"] for r in rows}) == 4


def test_synthesis_is_cached(tmp_path):
    a = synthesize_database("CREATE TABLE t (a INTEGER)", ["SELECT a FROM t WHERE a = 5"], str(tmp_path))
    b = synthesize_database("CREATE TABLE t (a INTEGER)", ["SELECT a FROM t WHERE a = 5"], str(tmp_path))
    assert a == b and len(os.listdir(tmp_path)) == 1


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        ({"source": "spider", "path": "/no/such/dir"}, "does not exist"),
        ({"source": "spider"}, "--path is required"),
        ({"source": "nope", "path": "."}, "unknown source"),
    ],
)
def test_clear_errors(tmp_path, kwargs, needle):
    with pytest.raises(DataError, match=needle):
        prepare(out_dir=str(tmp_path), **kwargs)


def test_missing_database_is_named(tmp_path):
    root = tmp_path / "spider"
    (root / "database").mkdir(parents=True)
    json.dump([{"db_id": "ghost", "question": "q", "query": "SELECT 1"}], open(root / "dev.json", "w"))
    with pytest.raises(DataError, match="ghost"):
        prepare("spider", str(tmp_path / "out"), path=str(root))


def test_cli(tmp_path, demo_dir, monkeypatch, capsys):
    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    assert data_main(["prepare", "--source", "demo", "--out", str(tmp_path), "--max-examples", "5"]) == 0
    assert "train:" in capsys.readouterr().out
    assert data_main(["prepare", "--source", "bird", "--path", "/nope", "--out", str(tmp_path)]) == 2


def test_render_schema_with_samples(demo_paths):
    from extensions.execution.introspect import sample_values

    text = render_schema(load_schema(demo_paths["hr"]), sample_values(demo_paths["hr"], 2))
    assert "CREATE TABLE employees" in text and "FOREIGN KEY (department_id) REFERENCES departments (id)" in text
    assert "-- example: [" in text
    with pytest.raises(ValueError):
        build_prompt("chatml", text, "q")


@pytest.mark.shared
def test_spider_dev_only_copy_is_split(tmp_path, spider_dev):
    out = prepare("spider", str(tmp_path), path=str(spider_dev), max_examples=30)
    _check_rows(read_parquet(out["train"]), "spider")


def _dev_only(tmp_path, demo_dir):
    root = tmp_path / "dev_only"
    shutil.copytree(os.path.join(demo_dir, "database"), root / "database")
    shutil.copy(os.path.join(demo_dir, "dev.json"), root / "dev.json")
    return root


def test_a_dev_only_copy_is_cut_by_database_with_a_loud_warning(tmp_path, demo_dir, capsys):
    root = _dev_only(tmp_path, demo_dir)
    assert data_main(["prepare", "--source", "spider", "--path", str(root), "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    train, val = (
        read_parquet(str(tmp_path / "out" / "train.parquet")),
        read_parquet(str(tmp_path / "out" / "val.parquet")),
    )
    assert not {r["extra_info"]["db_id"] for r in train} & {r["extra_info"]["db_id"] for r in val}
    assert len(train) + len(val) == len(json.load(open(root / "dev.json")))
    assert f"train: {len(train)} rows from dev.json, the training side of the Spider split's rule by database" in out
    assert f"val: {len(val)} rows from dev.json, the held-out side" in out
    assert err.startswith(f"WARNING: the {len(train)} training rows come from a DEV set (dev.json).")


def test_with_its_own_training_file_each_split_names_its_file_and_nothing_warns(tmp_path, demo_dir, capsys):
    root, _ = _spider_like(tmp_path, demo_dir)
    assert data_main(["prepare", "--source", "spider", "--path", str(root), "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert f"train: 40 rows from train_spider.json -> {tmp_path / 'out' / 'train.parquet'}" in out
    assert f"val: 20 rows from dev.json -> {tmp_path / 'out' / 'val.parquet'}" in out
    assert "WARNING" not in err


@pytest.mark.shared
def test_spider_dev_uses_the_fixed_cross_database_split(tmp_path, spider_dev, capsys):
    from extensions.data.prepare import prepare_splits
    from extensions.data.spider_split import HELDOUT_DBS, TRAIN_DBS

    reports = prepare_splits("spider", str(tmp_path), path=str(spider_dev))
    assert [(r.split, r.rows, r.from_dev) for r in reports] == [("train", 592, True), ("val", 380, True)]
    assert "the fixed Spider split" in reports[0].origin
    assert {r["extra_info"]["db_id"] for r in read_parquet(reports[0].path)} == set(TRAIN_DBS)
    assert {r["extra_info"]["db_id"] for r in read_parquet(reports[1].path)} == set(HELDOUT_DBS)


def test_data_is_ignored_by_git():
    from tests.conftest import ROOT

    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "/data/" in ignored  # the top-level folder only: extensions/data/ and tests/data/ are sources
    assert "data/" not in ignored
