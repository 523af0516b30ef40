"""python -m extensions.ablation: the plan, argument errors, a tiny resumable end-to-end run and the results JSON."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import require

require("trl")
require("peft")

from extensions.training import ablation  # noqa: E402 - after the dependency check
from extensions.training.stats import clustered_diff  # noqa: E402 - after the dependency check

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = ["--config", os.path.join(ROOT, "configs", "demo_cpu.yaml")]
TINY = [
    "--set",
    "optimization.batch_size=2",
    "--set",
    "grpo.num_generations=2",
    "--set",
    "optimization.max_response_length=16",
    "--set",
    "execution.workers=1",
]


def test_dry_run_prints_the_plan(capsys):
    assert ablation.main(["--dry-run", "--seeds", "4", *CONFIG]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert list(plan["arms"]) == ["baseline", "all", "all_narrow", "result"]
    assert plan["model"] == "smollm2-135m" and plan["seeds"] == [0, 1, 2, 3]
    assert plan["arms"]["baseline"] == ["reward.enable_enhanced=false"]
    assert "reward.wrong_ceiling=0.3" in plan["arms"]["all_narrow"]
    assert "resample seeds, then" in plan["test"]


@pytest.mark.parametrize("argv", [["--arms", "baseline,bogus"], ["--set", "reward.schema_weight=1"]])
def test_bad_arguments_exit_2(argv, capsys):
    assert ablation.main(["--demo", "--dry-run", *CONFIG, *argv]) == 2
    assert "error" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_ablation(tmp_path_factory, demo_dir):
    mp = pytest.MonkeyPatch()
    mp.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    out = tmp_path_factory.mktemp("abl")
    argv = [
        "--demo",
        "--seeds",
        "2",
        "--steps",
        "2",
        "--sft-warmup",
        "2",
        "--arms",
        "baseline,all",
        "--out",
        str(out),
        *CONFIG,
        *TINY,
    ]
    assert ablation.main(argv) == 0
    yield out, argv
    mp.undo()


@pytest.mark.slow
def test_results_json_has_the_issue_schema(tiny_ablation):
    out, _ = tiny_ablation
    doc = json.loads((out / "ablation.json").read_text())
    assert {"model", "prompt_ids", "arms", "per_prompt", "paired_vs_baseline"} <= set(doc)
    n = len(doc["prompt_ids"])
    assert n >= 150 and doc["model"] == "tiny"
    assert list(doc["arms"]) == ["sft_only", "baseline", "all"]
    for arm in ("baseline", "all"):
        assert doc["arms"][arm]["seeds"] == [0, 1]
        for seed in ("0", "1"):
            cells = doc["per_prompt"][arm][seed]
            assert set(cells) == {"exec_match", "hallucinated"} and len(cells["exec_match"]) == n
        lo, hi = doc["arms"][arm]["exec_match"]["ci95"]
        assert 0.0 <= lo <= doc["arms"][arm]["exec_match"]["mean"] <= hi <= 1.0
    cell = doc["paired_vs_baseline"]["all"]
    assert {"diff", "ci95", "p", "method", "cluster", "clusters", "design_effect", "discordant"} <= set(cell)
    assert cell["cluster"] == "skeleton" and len(doc["prompt_skeletons"]) == n
    per = doc["per_prompt"]
    again = clustered_diff(
        [per["all"][s]["exec_match"] for s in ("0", "1")],
        [per["baseline"][s]["exec_match"] for s in ("0", "1")],
        doc["prompt_skeletons"],
    )
    assert {k: cell[k] for k in again} == again
    for arm in ("baseline", "all"):
        assert doc["provenance"][arm]["0"]["plan_hash"] == doc["config"]["plan_hash"]
    assert (out / "ablation.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_rerun_skips_finished_arm_seeds(tiny_ablation):
    out, argv = tiny_ablation
    before = {p: os.path.getmtime(p) for p in (out / "seed-0" / "all.json", out / "seed-1" / "baseline.json")}
    os.remove(out / "seed-1" / "all.json")
    assert ablation.main(argv) == 0
    assert {p: os.path.getmtime(p) for p in before} == before
    assert json.loads((out / "seed-1" / "all.json").read_text())["seed"] == 1


@pytest.mark.slow
def test_a_run_in_progress_collects_what_finished_and_says_so(tiny_ablation, tmp_path):
    import shutil

    from extensions.training import ablation_report

    out, _ = tiny_ablation
    part = tmp_path / "part"
    shutil.copytree(out, part, ignore=shutil.ignore_patterns("sft", "*.png"))
    os.remove(part / "seed-1" / "all.json")
    doc = ablation_report.collect(str(part))
    assert doc["progress"] == {
        "planned": {"baseline": [0, 1], "all": [0, 1]},
        "finished": {"baseline": [0, 1], "all": [0]},
        "complete": False,
    }
    assert doc["paired_vs_baseline"]["all"]["seeds"] == [0] and doc["verdict"]["default"] is None
    for seed in ("seed-0", "seed-1"):
        for arm in ("baseline.json", "all.json"):
            if (part / seed / arm).exists():
                os.remove(part / seed / arm)
    doc = ablation_report.write(str(part), str(tmp_path / "only_sft.json"))
    assert list(doc["arms"]) == ["sft_only"] and doc["paired_vs_baseline"] == {}
    assert doc["progress"]["finished"] == {"baseline": [], "all": []}
    assert (tmp_path / "only_sft.png").read_bytes()[:4] == b"\x89PNG"


def test_collect_without_runs_fails_clearly(tmp_path, capsys):
    assert ablation.main(["--out", str(tmp_path), "--collect", str(tmp_path / "x.json")]) == 2
    assert "no plan.json" in capsys.readouterr().err


@pytest.mark.slow
def test_a_folder_without_adapters_retrains_them_and_checks_the_outcomes(tiny_ablation, capsys):
    import shutil

    out, argv = tiny_ablation
    shutil.rmtree(out / "seed-1" / "sft")  # the repository keeps sft.json, not the adapter
    os.remove(out / "seed-1" / "all.json")
    assert ablation.main(argv) == 0
    assert json.loads((out / "seed-1" / "all.json").read_text())["seed"] == 1
    shutil.rmtree(out / "seed-1" / "sft")
    os.remove(out / "seed-1" / "all.json")
    doc = json.loads((out / "seed-1" / "sft.json").read_text())
    doc["sft_only"]["exec_match"] = [1 - v for v in doc["sft_only"]["exec_match"]]
    (out / "seed-1" / "sft.json").write_text(json.dumps(doc))
    assert ablation.main(argv) == 2
    assert "does not reproduce" in capsys.readouterr().err
