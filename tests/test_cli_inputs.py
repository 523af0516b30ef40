"""Every bad input file of the evaluation, validation and data-preparation CLIs gives one
``error: <file>: <problem>`` line and exit 2.

The cases live in tests/fixtures/bad_cli_inputs.jsonl: which CLI, which file is bad (an output path too), its content
(text, base64 bytes, a depth for a JSON bomb, parquet rows, or a kind: missing, directory, oversize) and the
problem the message must state.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib

import pytest

from extensions import evaluate, validation
from extensions.cli.inputs import MAX_INPUT_BYTES
from extensions.data.__main__ import main as data_main
from tests.conftest import require

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
CASES = [json.loads(line) for line in (FIXTURES / "bad_cli_inputs.jsonl").read_text().splitlines() if line.strip()]
GOLD = [
    {"db_id": "hr", "query": "SELECT count(*) FROM employees"},
    {"db_id": "store", "query": "SELECT count(*) FROM products"},
]


def _place(case: dict, path: pathlib.Path) -> None:
    kind = case.get("kind")
    if kind in ("missing", "missing_folder"):
        return
    if kind == "directory":
        path.mkdir()
    elif kind == "oversize":
        with open(path, "wb") as fh:
            fh.truncate(MAX_INPUT_BYTES + 1)  # sparse: no disk used
    elif "rows" in case:
        pa = require("pyarrow")
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(case["rows"]), str(path))
    elif "deep" in case:
        path.write_text("[" * case["deep"] + "]" * case["deep"])
    elif "content_b64" in case:
        path.write_bytes(base64.b64decode(case["content_b64"]))
    else:
        path.write_bytes(case["content"].encode("utf-8"))


def _evaluate_argv(case: dict, tmp: pathlib.Path, demo_dir: str) -> tuple[list[str], pathlib.Path]:
    paths = {
        "gold": tmp / "gold.json",
        "predictions": tmp / "pred.txt",
        "compare": tmp / "pred_b.txt",
        "db_dir": tmp / "db",
        "output": tmp / "absent" / "report.json",
        "plot": tmp / "plot.png",
    }
    paths["gold"].write_text(json.dumps(GOLD))
    paths["predictions"].write_text("".join(g["query"] + "\n" for g in GOLD))
    target = paths[case["file"]]
    if case["file"] in ("gold", "predictions"):
        target.unlink()
    db = str(target) if case["file"] == "db_dir" else os.path.join(demo_dir, "database")
    argv = ["--gold", str(paths["gold"]), "--predictions", str(paths["predictions"]), "--db-dir", db, "--workers", "1"]
    if case["file"] in ("compare", "output", "plot"):
        argv += [f"--{case['file']}", str(target)]
    _place(case, target)
    return argv, target


def _validation_argv(case: dict, tmp: pathlib.Path, demo_dir: str) -> tuple[list[str], pathlib.Path]:
    argv = ["--db-dir", os.path.join(demo_dir, "database"), "--workers", "1"]
    if case["file"] == "write_filtered":
        data = tmp / "data.json"
        data.write_text(json.dumps([{"db_id": "hr", "query": "SELECT 1"}]))
        target = tmp / "absent" / "out.json"
        return [str(data), "--write-filtered", str(target), *argv], target
    target = tmp / ("data.parquet" if case["file"] in ("parquet", "data_parquet") else "data.json")
    _place(case, target)
    return [str(target), *argv], target


def _data_argv(case: dict, tmp: pathlib.Path, demo_dir: str) -> tuple[list[str], pathlib.Path]:
    spider = tmp / "spider"
    (spider / "database").mkdir(parents=True)
    _place(case, spider / case["file"])
    return ["prepare", "--source", "spider", "--path", str(spider), "--out", str(tmp / "out")], spider


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_bad_input_file_gives_one_error_line(case, tmp_path, demo_dir, capsys):
    if case["cli"] == "evaluate":
        argv, target = _evaluate_argv(case, tmp_path, demo_dir)
        code = evaluate.main(argv)
    elif case["cli"] == "validation":
        argv, target = _validation_argv(case, tmp_path, demo_dir)
        code = validation.main(argv)
    else:
        argv, target = _data_argv(case, tmp_path, demo_dir)
        code = data_main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {target}") and err.count("\n") == 1, (
        err
    )  # data prepare may name a file in the folder
    assert case["expect"] in err
