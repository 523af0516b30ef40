import json
import os
import shutil

import pytest

from extensions.cli.evaluate import (
    Evaluator,
    group_candidates,
    load_gold,
    load_predictions,
    main,
    mcnemar,
    report_figure,
    run_names,
)
from extensions.data.demo import build_database
from extensions.errors import DataError

# A hand-made set on the demo databases; the expected summary below is computed by hand.
GOLD = [
    ("hr", "SELECT count(*) FROM employees"),  # easy
    ("hr", "SELECT name FROM employees ORDER BY salary DESC LIMIT 3"),  # medium (ORDER BY + LIMIT)
    ("store", "SELECT category, avg(price) FROM products GROUP BY category"),  # medium (GROUP BY + 2 select items)
    ("school", "SELECT name FROM students WHERE gpa > (SELECT avg(gpa) FROM students)"),  # hard (nested)
    ("flights", "SELECT count(*) FROM flights WHERE price > 1000"),  # easy (one WHERE, nothing else)
    ("store", "SELECT product_name FROM products WHERE price < 20"),  # easy
]
PRED = [
    "SELECT COUNT(id) FROM employees",  # right
    "SELECT name FROM employees ORDER BY salary ASC LIMIT 3",  # wrong (order)
    "SELECT category, avg(price) FROM products GROUP BY category",  # right
    "SELECT name FROM studentz WHERE gpa > 3",  # hallucinated table -> schema_error
    "SELEC count(*) FROM flights",  # syntax error
    # right (completion)
    "<think>cheap</think><answer>```sql\nSELECT product_name FROM products WHERE price < 20;\n```</answer>",
]


@pytest.fixture()
def files(tmp_path, demo_dir):
    db = tmp_path / "db"
    shutil.copytree(os.path.join(demo_dir, "database"), db)
    gold_json = tmp_path / "gold.json"
    gold_json.write_text(json.dumps([{"db_id": d, "query": q, "question": "?"} for d, q in GOLD]))
    gold_tsv = tmp_path / "gold.txt"
    gold_tsv.write_text("".join(f"{q}\t{d}\n" for d, q in GOLD))
    return tmp_path, db, gold_json, gold_tsv


def test_hand_computed_summary(files):
    tmp, db, gold_json, _ = files
    pred = tmp / "pred.json"
    pred.write_text(json.dumps(PRED))
    out = tmp / "report.json"
    assert (
        main(
            [
                "--gold",
                str(gold_json),
                "--predictions",
                str(pred),
                "--db-dir",
                str(db),
                "--output",
                str(out),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    rep = json.loads(out.read_text())
    s = rep["summary"]
    assert s["count"] == 6
    assert s["exec_accuracy"] == pytest.approx(3 / 6)
    assert s["per_database"]["hr"] == {"count": 2, "exec_accuracy": 0.5}
    assert s["per_database"]["store"] == {"count": 2, "exec_accuracy": 1.0}
    assert s["per_database"]["school"]["exec_accuracy"] == 0.0
    assert s["per_hardness"]["easy"] == {"count": 3, "exec_accuracy": pytest.approx(2 / 3)}
    assert s["per_hardness"]["medium"] == {"count": 2, "exec_accuracy": 0.5}
    assert s["per_hardness"]["hard"] == {"count": 1, "exec_accuracy": 0.0}
    assert s["syntax_error_rate"] == pytest.approx(1 / 6)  # the SELEC typo only
    assert s["schema_error_rate"] == pytest.approx(1 / 6)  # no such table: studentz
    assert s["hallucination_rate"] == pytest.approx(1 / 6)
    assert s["timeouts"] == 0
    items = rep["items"]
    assert [i["index"] for i in items] == list(range(6))
    assert [i["exec_match"] for i in items] == [True, False, True, False, False, True]
    assert items[3]["status"] == "schema_error" and items[3]["hallucinated"] == ["studentz"]
    assert items[4]["status"] == "syntax_error"
    assert items[5]["pred"] == "SELECT product_name FROM products WHERE price < 20"
    assert items[2]["structural"] == 1.0


@pytest.mark.parametrize("fmt", ["lines", "json", "jsonl_pred", "jsonl_sql"])
def test_prediction_formats(files, fmt):
    tmp, db, gold_json, gold_tsv = files
    p = tmp / f"pred.{fmt}"
    clean = [x.replace("\n", " ") for x in PRED]
    if fmt == "lines":
        p.write_text("\n".join(clean[:5] + ["SELECT product_name FROM products WHERE price < 20"]) + "\n")
    elif fmt == "json":
        p.write_text(json.dumps(PRED))
    else:
        key = "pred" if fmt == "jsonl_pred" else "sql"
        p.write_text("".join(json.dumps({key: x}) + "\n" for x in PRED))
    preds = load_predictions(str(p))
    assert len(preds) == 6
    for gold in (gold_json, gold_tsv):
        g = load_gold(str(gold))
        assert [x.db_id for x in g] == [d for d, _ in GOLD]
        ev = Evaluator(str(db), workers=1)
        try:
            rep = ev.evaluate(g, group_candidates(preds, len(g), 1))
        finally:
            ev.close()
        assert rep.summary["exec_accuracy"] == pytest.approx(0.5)


def test_lines_split_on_newline_and_crlf_only(files):
    tmp, db, gold_json, _ = files
    pred = tmp / "pred.txt"
    odd = [
        "SELECT count(*)\x0bFROM employees",
        "SELECT 1\u2028",
        "SELECT 2\x1c",
        "SELECT 3\x85",
        "x\u2029",
        "SELECT 4 -- \x0c",
    ]
    pred.write_bytes("\r\n".join(odd[:3]).encode() + b"\n" + "\n".join(odd[3:]).encode() + b"\r\n")
    assert load_predictions(str(pred)) == odd


def test_limit_evaluates_the_first_golds(files):
    tmp, db, gold_json, _ = files
    pred = tmp / "pred.json"
    pred.write_text(json.dumps(PRED))
    out = tmp / "report.json"
    assert (
        main(
            [
                "--gold",
                str(gold_json),
                "--predictions",
                str(pred),
                "--db-dir",
                str(db),
                "--output",
                str(out),
                "--workers",
                "1",
                "--limit",
                "3",
            ]
        )
        == 0
    )
    rep = json.loads(out.read_text())
    assert rep["summary"]["count"] == 3
    assert [i["exec_match"] for i in rep["items"]] == [True, False, True]


@pytest.mark.parametrize("flag", ["--votes", "--limit"])
def test_counts_below_one_are_refused(files, flag, capsys):
    tmp, db, gold_json, _ = files
    with pytest.raises(SystemExit) as exc:
        main(["--gold", str(gold_json), "--predictions", str(gold_json), "--db-dir", str(db), flag, "0"])
    assert exc.value.code == 2
    assert f"argument {flag}: must be at least 1, got 0" in capsys.readouterr().err


def test_folder_holding_database_is_accepted(files):
    tmp, db, gold_json, _ = files
    spider_like = tmp / "spider"
    spider_like.mkdir()
    db.rename(spider_like / "database")
    pred = tmp / "pred.json"
    pred.write_text(json.dumps(PRED))
    out = tmp / "report.json"
    assert (
        main(
            [
                "--gold",
                str(gold_json),
                "--predictions",
                str(pred),
                "--db-dir",
                str(spider_like),
                "--output",
                str(out),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["summary"]["exec_accuracy"] == pytest.approx(0.5)


def test_hardness_labels_show_in_the_console_table(files, capsys):
    tmp, db, gold_json, _ = files
    pred = tmp / "pred.json"
    pred.write_text(json.dumps(PRED))
    assert main(["--gold", str(gold_json), "--predictions", str(pred), "--db-dir", str(db), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "exec_accuracy[easy] (n=3)" in out and "exec_accuracy[hard] (n=1)" in out


def test_alignment_errors(files):
    with pytest.raises(DataError, match="aligned"):
        group_candidates(["SELECT 1"], 6, 1)
    with pytest.raises(DataError, match="--votes 2: expected 4 predictions or 2 lists, got 3"):
        group_candidates(["a", "b", "c"], 2, 2)


def test_test_suite_databases_must_all_match(tmp_path):
    folder = tmp_path / "db" / "hr"
    build_database(str(folder / "hr.sqlite"), "hr", seed=0)
    build_database(str(folder / "hr_variant.sqlite"), "hr", seed=3)
    import sqlite3

    n = (
        sqlite3.connect(str(folder / "hr.sqlite"))
        .execute("SELECT count(*) FROM employees WHERE salary > 100000")
        .fetchone()[0]
    )
    gold = [type("G", (), {"db_id": "hr", "sql": "SELECT count(*) FROM employees WHERE salary > 100000"})()]
    ev = Evaluator(str(tmp_path / "db"), workers=1)
    try:
        assert ev.paths("hr")[0].endswith("hr/hr.sqlite") and len(ev.paths("hr")) == 2
        right = ev.evaluate(gold, [["SELECT count(*) FROM employees WHERE 100000 < salary"]])
        hard_coded = ev.evaluate(gold, [[f"SELECT {n}"]])
    finally:
        ev.close()
    assert right.items[0].exec_match and not hard_coded.items[0].exec_match


def test_votes_pick_the_majority_result(files):
    tmp, db, gold_json, _ = files
    g = load_gold(str(gold_json))[:1]
    cands = [
        [
            "SELECT count(*) FROM departments",
            "SELECT count(*) FROM employees",
            "SELECT count(id) FROM employees",
            "SELEC x",
        ]
    ]
    ev = Evaluator(str(db), workers=1)
    try:
        rep = ev.evaluate(g, cands)
    finally:
        ev.close()
    assert rep.items[0].exec_match and rep.items[0].votes == 4
    assert group_candidates(["a", "b", "c", "d"], 2, 2) == [["a", "b"], ["c", "d"]]


def test_compare_and_mcnemar(files):
    tmp, db, gold_json, _ = files
    a = tmp / "a.json"
    b = tmp / "b.json"
    a.write_text(json.dumps(PRED))
    b.write_text(json.dumps([q for _, q in GOLD]))  # all right
    out = tmp / "cmp.json"
    png = tmp / "cmp.png"
    assert (
        main(
            [
                "--gold",
                str(gold_json),
                "--predictions",
                str(a),
                "--compare",
                str(b),
                "--db-dir",
                str(db),
                "--output",
                str(out),
                "--plot",
                str(png),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    rep = json.loads(out.read_text())
    assert rep["comparison"]["metrics"]["exec_accuracy"]["diff"] == pytest.approx(0.5)
    assert rep["comparison"]["mcnemar_exec_match"]["b_only_correct"] == 3
    assert rep["comparison"]["mcnemar_exec_match"]["p_value"] == pytest.approx(0.25)  # 2 * (1/2)^3
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert mcnemar([True], [True])["p_value"] == 1.0


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.parametrize("keep_distinct,column", [(False, "official_exec"), (True, "official_exec_keep_distinct")])
def test_agreement_with_official_verdicts(spider_dev, tmp_path, keep_distinct, column):
    rows = [json.loads(line) for line in (spider_dev / "official_exec_verdicts.jsonl").read_text().splitlines()]
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps([{"db_id": r["db_id"], "query": r["gold"]} for r in rows]))
    pred = tmp_path / "pred.jsonl"
    pred.write_text("".join(json.dumps({"pred": r["pred"]}) + "\n" for r in rows))
    out = tmp_path / "rep.json"
    args = [
        "--gold",
        str(gold),
        "--predictions",
        str(pred),
        "--db-dir",
        str(spider_dev / "database"),
        "--output",
        str(out),
    ]
    assert main(args + (["--keep-distinct"] if keep_distinct else [])) == 0
    items = json.loads(out.read_text())["items"]
    agree = sum(int(i["exec_match"]) == r[column] for i, r in zip(items, rows)) / len(rows)
    assert agree == 1.0


def test_the_plot_names_runs_after_their_files_and_labels_the_database_panel(files):
    tmp, db, gold_json, _ = files
    (tmp / "base").mkdir()
    (tmp / "grpo").mkdir()
    a, b = tmp / "base" / "pred.json", tmp / "grpo" / "pred.json"
    a.write_text(json.dumps(PRED))
    b.write_text(json.dumps([q for _, q in GOLD]))
    names = run_names(str(a), str(b))
    assert names == ("base/pred.json", "grpo/pred.json")
    gold = load_gold(str(gold_json))
    ev = Evaluator(str(db), workers=1)
    try:
        rep_a = ev.evaluate(gold, [[p] for p in load_predictions(str(a))])
        rep_b = ev.evaluate(gold, [[p] for p in load_predictions(str(b))])
    finally:
        ev.close()
    metrics, per_db = report_figure(rep_a, rep_b, names).axes
    for ax in (metrics, per_db):
        assert [t.get_text() for t in ax.get_legend().get_texts()] == list(names)
    assert per_db.get_xlabel() == "execution accuracy" and per_db.get_ylabel() == "database"
    n = rep_a.summary["per_database"]
    assert [t.get_text() for t in per_db.get_yticklabels()] == [f"{d} (n={n[d]['count']})" for d in n]


def _report_keys(doc, prefix=""):
    """Every key path of a report, with database names, hardness labels and statuses as ``*``."""
    dynamic = {"per_database", "per_hardness", "statuses", "metrics"}
    keys = set()
    if isinstance(doc, dict):
        for k, v in doc.items():
            path = f"{prefix}.{k}" if prefix else k
            keys.add(path)
            if prefix.rsplit(".", 1)[-1] in dynamic:
                path = f"{prefix}.*"
                keys.discard(f"{prefix}.{k}")
                keys.add(path)
            keys |= _report_keys(v, path)
    elif isinstance(doc, list) and doc and isinstance(doc[0], dict):
        keys |= _report_keys(doc[0], f"{prefix}[]")
    return keys


def _documented_keys():
    """The key paths in the metric table of docs/evaluation.md (its first column, in backticks)."""
    import re

    text = open(os.path.join(os.path.dirname(os.path.dirname(__file__)), "docs", "evaluation.md")).read()
    section = text.split("### What the report holds", 1)[1].split("\n## ", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", section, re.M)}


def test_every_key_of_the_report_is_defined_in_the_docs(files):
    tmp, db, gold_json, _ = files
    a, b = tmp / "a.json", tmp / "b.json"
    a.write_text(json.dumps(PRED))
    b.write_text(json.dumps([q for _, q in GOLD]))
    one, two = tmp / "one.json", tmp / "two.json"
    base = ["--gold", str(gold_json), "--predictions", str(a), "--db-dir", str(db), "--workers", "1"]
    assert main(base + ["--output", str(one)]) == 0
    assert main(base + ["--compare", str(b), "--output", str(two)]) == 0
    keys = _report_keys(json.loads(one.read_text()))
    cmp_keys = _report_keys(json.loads(two.read_text()))
    assert {k.split(".", 1)[1] for k in cmp_keys if k.startswith("a.")} == keys  # a and b are one-run reports
    keys |= {k for k in cmp_keys if k.startswith("comparison")} | {"a", "b"}
    missing = keys - _documented_keys()
    assert not missing, f"docs/evaluation.md does not define: {sorted(missing)}"


def test_syntax_and_schema_errors_are_counted_apart(files):
    tmp, db, gold_json, _ = files
    preds = ["SELECT nme FROM employees", "SELECT name FROM staff", "SELEC 1", "", "DELETE FROM flights", "x"]
    gold = load_gold(str(gold_json))
    ev = Evaluator(str(db), workers=1)
    try:
        rep = ev.evaluate(gold, [[p] for p in preds])
    finally:
        ev.close()
    s = rep.summary
    assert [i.status for i in rep.items] == [
        "schema_error",
        "schema_error",
        "syntax_error",
        "syntax_error",
        "forbidden",
        "syntax_error",
    ]
    assert s["schema_error_rate"] == pytest.approx(2 / 6) and s["syntax_error_rate"] == pytest.approx(3 / 6)
    assert s["statuses"] == {"forbidden": 1, "schema_error": 2, "syntax_error": 3}


def test_the_compare_names_are_printed_whole_on_lines_of_their_own(files, capsys):
    tmp, db, gold_json, _ = files
    deep = tmp / ("a_rather_long_folder_name_for_a_run_" * 3) / "predictions_of_the_first_model.json"
    deep.parent.mkdir()
    deep.write_text(json.dumps(PRED))
    other = tmp / "b.json"
    other.write_text(json.dumps([q for _, q in GOLD]))
    args = ["--gold", str(gold_json), "--predictions", str(deep), "--compare", str(other), "--db-dir", str(db)]
    assert main(args + ["--workers", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    name_a, name_b = run_names(str(deep), str(other))
    assert f"A = {name_a}" in lines and f"B = {name_b}" in lines
    assert any(line.startswith("McNemar (exec match): A-only 0, B-only 3") for line in lines)
