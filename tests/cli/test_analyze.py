"""python -m extensions.analyze on a small synthetic rollouts file and (shared) on the real Spider predictions."""

from __future__ import annotations

import json

import pytest

from extensions.cli import analyze
from extensions.rewards.arms import ARMS
from tests.conftest import FIXTURES, require

require("scipy")


@pytest.fixture
def rollouts(tmp_path, demo_paths):
    out = tmp_path / "groups.jsonl"
    with open(out, "w") as fh:
        for line in open(FIXTURES / "analyze_groups.jsonl"):
            d = json.loads(line)
            gt = {"sql": d["sql"], "db_path": demo_paths[d["db_id"]]}
            fh.write(
                json.dumps(
                    {
                        "prompt_id": d["prompt_id"],
                        "ground_truth": gt,
                        "completions": [analyze.answer(c) for c in d["completions"]],
                    }
                )
                + "\n"
            )
    return out


def test_row_f1_on_known_multisets():
    assert analyze.row_f1([(1,), (1,), (2,)], [(1,), (2,), (2,)]) == pytest.approx(2 * 2 / 6)
    assert analyze.row_f1([], []) == 1.0
    assert analyze.row_f1(None, [(1,)]) == 0.0
    assert analyze.row_f1([(0.1 + 0.2,)], [(0.3,)]) == 1.0


@pytest.mark.slow
def test_report_on_synthetic_groups(rollouts, tmp_path):
    rc = analyze.main([str(rollouts), "--presets", "arctic,sql_r1", "--out", str(tmp_path / "out")])
    assert rc == 0
    doc = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert doc["n_groups"] == 4 and doc["n_completions"] == 14
    assert set(doc["results"]) == {"arctic", "sql_r1"}
    arctic = doc["results"]["arctic"]
    assert set(arctic) == set(ARMS)
    for variant in arctic.values():
        assert variant["correct_not_top_frac"] == 0.0
        assert variant["mixed_groups"] == 2
    # Without shaping the all-wrong group gives no signal; with all shaping it does.
    assert arctic["baseline"]["zero_std_frac"] == 0.5
    assert arctic["all"]["zero_std_frac"] == 0.25
    assert arctic["baseline"]["shaping_f1_spearman"] is None
    assert arctic["result"]["wrong_answers"] == arctic["all"]["wrong_answers"] > 0
    assert (tmp_path / "out" / "analysis.png").read_bytes()[:4] == b"\x89PNG"


def test_unreadable_input_is_an_error(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    assert analyze.main([str(bad), "--out", str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.shared
def test_spider_predictions_keep_the_ordering(spider_dev, tmp_path):
    rc = analyze.main(
        [
            str(spider_dev / "official_exec_verdicts.jsonl"),
            "--spider-verdicts",
            "--limit",
            "60",
            "--presets",
            "arctic",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    doc = json.loads((tmp_path / "analysis.json").read_text())
    assert doc["n_groups"] == 60 and doc["n_completions"] == 360
    assert all(v["correct_not_top_frac"] in (0.0, None) for v in doc["results"]["arctic"].values())
