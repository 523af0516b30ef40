"""train_colab.py end to end on CPU: the offline demo, held-out eval.json, checkpoints, resume, VERL backend, errors."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import pytest

from tests.conftest import require

require("torch")
require("trl")
require("peft")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("train_colab", os.path.join(ROOT, "train_colab.py"))
train_colab = importlib.util.module_from_spec(spec)
sys.modules["train_colab"] = train_colab
spec.loader.exec_module(train_colab)

EXPECTED = {
    "step",
    "step_time_s",
    "loss",
    "kl",
    "rewards/sql_reward/mean",
    "rewards/acc/mean",
    "rewards/schema/mean",
    "rewards/structural/mean",
    "rewards/syntax/mean",
    "rewards/baseline/mean",
    "rewards/format_ok/mean",
    "frac_reward_zero_std",
}
SMALL = ["--set", "execution.workers=1", "--set", "optimization.batch_size=2", "--set", "grpo.num_generations=2"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, demo_dir):
    with pytest.MonkeyPatch.context() as mp:  # undone after the module's tests
        mp.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
        out = str(tmp_path_factory.mktemp("demo"))
        rc = train_colab.main(
            [
                "--demo",
                "--model",
                "tiny",
                "--config",
                os.path.join(ROOT, "configs", "demo_cpu.yaml"),
                "--output-dir",
                out,
                "--num-steps",
                "3",
                "--sft-warmup",
                "10",
                "--set",
                "logging.save_every=3",
                *SMALL,
            ]
        )
        assert rc == 0
        yield out


def _rows(out):
    return [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]


@pytest.mark.slow
def test_outputs_and_metric_keys(demo_run):
    rows = _rows(demo_run)
    assert [r["step"] for r in rows] == [1, 2, 3]
    for r in rows:
        assert EXPECTED <= set(r), EXPECTED - set(r)
    for name in (
        "reward_curves.png",
        "config.yaml",
        "final/adapter_model.safetensors",
        "checkpoint-3",
        "base/config.json",
        "sft_metrics.jsonl",
    ):
        assert os.path.exists(os.path.join(demo_run, name)), name
    card = open(os.path.join(demo_run, "README.md")).read()
    assert "[None]" not in card and "toy model" in card, "TRL's model card names no base model; ours does"


@pytest.mark.slow
def test_eval_json_measures_heldout_before_after_sft_and_after(demo_run):
    from extensions.training.data import demo_rows
    from extensions.training.stats import bootstrap_diff

    doc = json.load(open(os.path.join(demo_run, "eval.json")))
    assert doc["decoding"] == "greedy" and doc["n"] >= 50 and doc["model"] == "tiny"
    per = doc["per_prompt_exec_match"]
    for side in ("before", "after_sft", "after"):
        assert {"exec_match", "hallucination_rate", "syntax_error_rate", "format_ok"} <= set(doc[side])
        assert all(0.0 <= v <= 1.0 for v in doc[side].values())
        assert len(per[side]) == doc["n"] and set(per[side]) <= {0, 1}
        assert doc[side]["exec_match"] == pytest.approx(sum(per[side]) / doc["n"])
    for key, start in (("exec_match_gain", "before"), ("grpo_gain", "after_sft")):
        gain = doc[key]
        assert gain["diff"] == pytest.approx(doc["after"]["exec_match"] - doc[start]["exec_match"])
        assert gain["ci95"][0] <= gain["diff"] <= gain["ci95"][1] and "bootstrap" in gain["method"]
        assert {k: gain[k] for k in ("diff", "ci95", "p")} == bootstrap_diff(per["after"], per[start])
    train, held = demo_rows("compact")
    assert not {r["prompt"][-1]["content"] for r in train} & {r["prompt"][-1]["content"] for r in held}
    unseen = doc["unseen_skeleton"]
    assert 0 < unseen["n"] < doc["n"] and all(0.0 <= unseen[p] <= 1.0 for p in ("before", "after_sft", "after"))
    res = doc["resources"]
    assert res["peak_rss_mb"] > 0 and res["cpu_s"] > 0 and res["wall_s"] > 0 and res["threads"] == 1


@pytest.mark.slow
def test_checkpoint_reloads(demo_run):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from extensions.training.tiny import build_tokenizer

    base = AutoModelForCausalLM.from_pretrained(os.path.join(demo_run, "base"))
    model = PeftModel.from_pretrained(base, os.path.join(demo_run, "checkpoint-3"))
    tok = build_tokenizer()
    ids = tok("<|im_start|>user\nHow many employees?<|im_end|>\n<|im_start|>assistant\n", return_tensors="pt")[
        "input_ids"
    ]
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=5, do_sample=False)
    assert out.shape[1] > ids.shape[1]
    meta = json.load(open(os.path.join(demo_run, "checkpoint-3", "extensions_meta.json")))
    assert meta["step"] == 3


@pytest.mark.slow
def test_resume_continues(demo_run):
    rc = train_colab.main(
        [
            "--demo",
            "--model",
            "tiny",
            "--config",
            os.path.join(ROOT, "configs", "demo_cpu.yaml"),
            "--output-dir",
            demo_run,
            "--num-steps",
            "5",
            "--resume",
            "--set",
            "logging.save_every=5",
            *SMALL,
        ]
    )
    assert rc == 0
    steps = [r["step"] for r in _rows(demo_run)]
    assert steps == [1, 2, 3, 4, 5]
    state = json.load(open(os.path.join(demo_run, "checkpoint-5", "trainer_state.json")))
    assert state["global_step"] == 5


def test_verl_backend_dry_run(tmp_path, demo_dir, capsys, monkeypatch):
    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    rc = train_colab.main(
        [
            "--backend",
            "verl",
            "--dry-run",
            "--config",
            os.path.join(ROOT, "configs", "train_24gb.yaml"),
            "--output-dir",
            str(tmp_path),
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "verl.trainer.main_ppo" in out and "algorithm.adv_estimator=grpo" in out
    assert os.path.exists(tmp_path / "data" / "train.parquet")


def test_push_to_hub_without_token_fails_clearly(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    rc = train_colab.main(
        ["--demo", "--output-dir", str(tmp_path), "--push-to-hub", "me/adapter"], token_fn=lambda: None
    )
    assert rc == 2 and "HF_TOKEN" in capsys.readouterr().err


def test_push_to_hub_uploads_with_token(tmp_path, monkeypatch):
    calls = {}

    class FakeApi:
        def __init__(self, token):
            calls["token"] = token

        def create_repo(self, repo, exist_ok, private):
            calls["repo"] = repo

        def upload_folder(self, folder_path, repo_id, commit_message):
            calls["folder"] = folder_path
            return type("Info", (), {"commit_url": f"https://hub/{repo_id}"})()

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    assert train_colab.push_to_hub(str(tmp_path), "me/adapter", "tok") == "https://hub/me/adapter"
    assert calls == {"token": "tok", "repo": "me/adapter", "folder": str(tmp_path)}


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--set", "grpo.num_generations=1"], "grpo.num_generations"),
        (["--set", "reward.baseline=nope"], "reward.baseline"),
        (["--config", "/no/such.yaml"], "config file not found"),
    ],
)
def test_config_errors_are_clear(tmp_path, capsys, extra, needle):
    rc = train_colab.main(["--demo", "--output-dir", str(tmp_path), *extra])
    assert rc == 2 and needle in capsys.readouterr().err


@pytest.mark.slow
def test_wandb_offline_does_not_crash(tmp_path, demo_dir, monkeypatch):
    require("wandb")
    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    (tmp_path / "wandb").mkdir()
    rc = train_colab.main(
        [
            "--demo",
            "--model",
            "tiny",
            "--config",
            os.path.join(ROOT, "configs", "demo_cpu.yaml"),
            "--output-dir",
            str(tmp_path / "out"),
            "--num-steps",
            "1",
            "--wandb",
            "--no-eval",
            *SMALL,
            "--set",
            "logging.save_every=1000",
        ]
    )
    assert rc == 0
    assert os.path.exists(tmp_path / "out" / "metrics.jsonl")
