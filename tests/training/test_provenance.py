"""Provenance: a result is reused only by the run that would make it again, and collection refuses mixtures."""

import json
import os

import pytest

from extensions._util.version import code_version
from extensions.training import ablation, ablation_report
from extensions.training.provenance import FIELDS, digest, mismatches, model_hash, record
from extensions.training.stats import clustered_diff

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "configs", "demo_cpu.yaml")


def _plan(tmp_path, **kw):
    args = ablation.parse_args(
        [
            "--demo",
            "--seeds",
            "2",
            "--arms",
            "baseline,all",
            "--config",
            CONFIG,
            "--out",
            str(tmp_path),
            *kw.pop("argv", []),
        ]
    )
    return ablation.make_plan(args)


def test_the_code_version_is_this_checkout():
    commit, dirty = code_version()
    assert len(commit) == 40 and dirty in (True, False)


def test_record_names_every_field_and_the_model_file():
    prov = record({"a": 1}, "tiny", "p")
    assert set(prov) == set(FIELDS)
    assert prov["model_hash"] == "tiny" and prov["config_hash"] == digest({"a": 1})
    assert model_hash("Qwen/x") == "name:Qwen/x"


def test_a_result_is_reused_only_when_everything_matches(tmp_path):
    plan = _plan(tmp_path)
    current = ablation.provenance(plan, "all")
    path = tmp_path / "r.json"
    assert not ablation.reusable(str(path), current)
    path.write_text(json.dumps({"provenance": current}))
    assert ablation.reusable(str(path), current)
    for field in ("commit", "config_hash", "plan_hash", "model_hash"):
        path.write_text(json.dumps({"provenance": {**current, field: "other"}}))
        with pytest.raises(ablation.StaleResult, match=field):
            ablation.reusable(str(path), current)
        assert not ablation.reusable(str(path), current, replace_stale=True)
    path.write_text(json.dumps({"arm": "all"}))  # written before provenance existed
    assert mismatches(None, current) == list(FIELDS)
    with pytest.raises(ablation.StaleResult):
        ablation.reusable(str(path), current)


def test_arms_differ_in_config_hash_and_share_the_plan_hash(tmp_path):
    plan = _plan(tmp_path)
    a, b = ablation.provenance(plan, "baseline"), ablation.provenance(plan, "all")
    assert a["config_hash"] != b["config_hash"] and a["plan_hash"] == b["plan_hash"]
    other = _plan(tmp_path, argv=["--steps", "7"])
    assert ablation.provenance(other, "all")["plan_hash"] != b["plan_hash"]


def test_the_plan_file_grows_by_arms_and_seeds_but_refuses_another_recipe(tmp_path):
    ablation.write_plan(_plan(tmp_path))
    grown = _plan(tmp_path, argv=["--arms", "result", "--seeds", "3"])
    doc = ablation.write_plan(grown)
    assert list(doc["arms"]) == ["baseline", "all", "result"] and doc["seeds"] == [0, 1, 2]
    with pytest.raises(ablation.StaleResult, match="steps"):
        ablation.write_plan(_plan(tmp_path, argv=["--steps", "9"]))


def _fake_folder(tmp_path, plan, *, stale=None, extra_arm=True):
    """A finished two-seed ablation without training: SFT files and arm files with provenance."""
    ablation.write_plan(plan)
    meta = {
        "prompt_ids": [f"p{i}" for i in range(6)],
        "prompt_db_ids": ["a", "a", "b", "b", "c", "c"],
        "prompt_skeletons": ["s1", "s1", "s2", "s3", "s3", "s4"],
        "prompt_skeleton_seen": [True, False, True, False, False, True],
    }
    outcomes = {"baseline": [[1, 0, 1, 0, 0, 1], [1, 0, 0, 0, 0, 1]], "all": [[1, 1, 1, 0, 0, 1], [1, 0, 1, 1, 0, 1]]}
    for seed in (0, 1):
        root = tmp_path / f"seed-{seed}"
        root.mkdir(exist_ok=True)
        sft = {
            "seed": seed,
            "sft_only": {"metrics": {}, "exec_match": [0] * 6, "hallucinated": [0] * 6},
            **meta,
            "provenance": ablation.provenance(plan, None),
        }
        (root / "sft.json").write_text(json.dumps(sft))
        for arm, per in outcomes.items():
            prov = ablation.provenance(plan, arm)
            if stale == (arm, seed):
                prov = {**prov, "commit": "0" * 40}
            doc = {
                "arm": arm,
                "seed": seed,
                "metrics": {},
                "exec_match": per[seed],
                "hallucinated": [0] * 6,
                "provenance": prov,
            }
            (root / f"{arm}.json").write_text(json.dumps(doc))
        if extra_arm:  # a stray result of an arm the plan does not name
            (root / "result.json").write_text(json.dumps({"arm": "result", "seed": seed, "exec_match": [1] * 6}))
    return outcomes, meta


def test_collection_takes_the_planned_arms_and_recomputes_from_per_prompt(tmp_path):
    plan = _plan(tmp_path)
    outcomes, meta = _fake_folder(tmp_path, plan)
    doc = ablation_report.collect(str(tmp_path))
    assert list(doc["arms"]) == ["sft_only", "baseline", "all"]
    assert doc["cluster_unit"] == "skeleton" and doc["prompt_skeletons"] == meta["prompt_skeletons"]
    cell = doc["paired_vs_baseline"]["all"]
    again = clustered_diff(outcomes["all"], outcomes["baseline"], meta["prompt_skeletons"])
    assert {k: cell[k] for k in again} == again
    assert cell["cluster"] == "skeleton" and "sign-flip" in cell["method"]
    unseen = doc["arms"]["all"]["exec_match_unseen_skeletons"]
    assert unseen["mean"] == pytest.approx((1 + 0 + 0 + 1 + 0 + 0) / 6)
    assert doc["provenance"]["all"]["1"]["commit"] == code_version()[0]


def test_collection_refuses_a_result_from_other_code_by_name(tmp_path):
    _fake_folder(tmp_path, _plan(tmp_path), stale=("all", 1))
    with pytest.raises(ValueError, match="commit") as err:
        ablation_report.collect(str(tmp_path))
    assert "seed-1/all.json" in str(err.value)


def test_collect_command_reports_a_refusal_with_exit_2(tmp_path, capsys):
    _fake_folder(tmp_path, _plan(tmp_path), stale=("baseline", 0))
    assert ablation.main(["--out", str(tmp_path), "--collect", str(tmp_path / "a.json")]) == 2
    assert "disagree in their provenance" in capsys.readouterr().err
