"""python -m extensions.ablation: the plan, argument errors, and a tiny end-to-end run with the JSON shape."""

from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")
pytest.importorskip("scipy")

from extensions.training import ablation  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--set", "optimization.batch_size=2", "--set", "grpo.num_generations=2", "--set", "optimization.max_response_length=16",
        "--set", "execution.workers=1"]


def test_dry_run_prints_the_plan(capsys):
    assert ablation.main(["--demo", "--dry-run", "--seeds", "4", "--config", os.path.join(ROOT, "configs", "demo_cpu.yaml")]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert list(plan["arms"])[:5] == ["baseline", "schema", "structural", "syntax", "all"]
    assert plan["arms"]["baseline"] == ["reward.enable_enhanced=false"]
    assert "reward.syntax_weight=0.0" in plan["arms"]["schema"] and "reward.schema_weight=0.0" in plan["arms"]["syntax"]
    assert plan["seeds"] == [0, 1, 2, 3] and "sign-flip" in plan["test"]


@pytest.mark.parametrize("argv", [["--arms", "baseline,bogus"], ["--set", "reward.schema_weight=1"]])
def test_bad_arguments_exit_2(argv, capsys):
    assert ablation.main(["--demo", "--dry-run", "--config", os.path.join(ROOT, "configs", "demo_cpu.yaml"), *argv]) == 2
    assert "error" in capsys.readouterr().err


def test_tiny_end_to_end(tmp_path, demo_dir, monkeypatch):
    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    out = tmp_path / "abl"
    rc = ablation.main(["--demo", "--seeds", "2", "--steps", "2", "--sft-warmup", "2", "--arms", "baseline,all", "--out", str(out),
                        "--config", os.path.join(ROOT, "configs", "demo_cpu.yaml"), *TINY])
    assert rc == 0
    doc = json.loads((out / "ablation.json").read_text())
    assert set(doc) == {"arms", "paired_vs_baseline", "config"}
    for arm in ("baseline", "all"):
        res = doc["arms"][arm]
        assert [s["seed"] for s in res["seeds"]] == [0, 1]
        for metric in ablation.METRICS:
            assert set(res[metric]) == {"mean", "ci95"}
            values = [s[metric] for s in res["seeds"]]
            assert res[metric]["mean"] == pytest.approx(sum(values) / 2)
            lo, hi = res[metric]["ci95"]
            assert lo <= res[metric]["mean"] <= hi
        assert len(res["seeds"][0]["curve"]["step"]) == 2
    assert list(doc["paired_vs_baseline"]) == ["all"]
    for metric in ablation.METRICS:
        cell = doc["paired_vs_baseline"]["all"][metric]
        assert set(cell) == {"diff", "ci95", "p"} and 0.0 < cell["p"] <= 1.0
        diffs = [a[metric] - b[metric] for a, b in zip(doc["arms"]["all"]["seeds"], doc["arms"]["baseline"]["seeds"])]
        assert cell["diff"] == pytest.approx(sum(diffs) / 2)
    assert doc["config"]["heldout_n"] >= 50 and set(doc["config"]["before"]) == {"0", "1"}
    assert (out / "ablation.png").read_bytes()[:4] == b"\x89PNG"
