"""What a run writes beside its model: eval.json's unseen-skeleton and resource figures, and a true model card."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from extensions.training.model_card import model_card, use_own_model_card
from extensions.training.resources import Meter
from tests.conftest import ROOT, require


def _phase(outcomes):
    return {"exec_match": sum(outcomes) / len(outcomes)}, {"exec_match": outcomes, "hallucinated": [0] * len(outcomes)}


def test_eval_json_reports_unseen_skeletons_next_to_the_total_and_the_resources(tmp_path):
    require("scipy")
    from extensions.training.runner import write_eval

    rows = [{"skeleton_seen": s} for s in (True, False, True, False)]
    phases = {"before": _phase([0, 0, 0, 1]), "after_sft": _phase([1, 0, 1, 1]), "after": _phase([1, 1, 1, 0])}
    resources = Meter(busy_cores=0.2).read()
    doc = write_eval(str(tmp_path / "eval.json"), "m", phases, rows, resources)
    assert doc["unseen_skeleton"] == {"n": 2, "before": 0.5, "after_sft": 0.5, "after": 0.5}
    assert doc["after"]["exec_match"] == 0.75
    assert json.loads((tmp_path / "eval.json").read_text())["resources"] == resources
    assert set(resources) == {"cpu_s", "wall_s", "peak_rss_mb", "load_avg", "cpus", "busy_cores_at_start"}
    assert resources["peak_rss_mb"] > 0 and len(resources["load_avg"]) == 2
    assert "unseen_skeleton" not in write_eval(str(tmp_path / "e2.json"), "m", phases, [{}] * 4)


class _Trainer:
    class args:
        output_dir = ""

    def is_world_process_zero(self):
        return True


@pytest.mark.parametrize("name", ["smollm2-135m", "tiny", "Qwen/Qwen2.5-Coder-3B-Instruct"])
def test_the_model_card_names_the_base_model(tmp_path, name):
    trainer = _Trainer()
    trainer.args.output_dir = str(tmp_path)
    use_own_model_card(trainer, name, lora=True)
    trainer.create_model_card(model_name="demo")  # what TRL calls with every checkpoint
    text = (tmp_path / "README.md").read_text()
    assert "[None]" not in text and "None" not in text
    assert text == model_card(name, lora=True)
    assert {"smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct", "tiny": "toy"}.get(name, name) in text


def test_freed_memory_goes_back_to_the_os_on_glibc():
    code = "from extensions.training.memory import release_freed_memory; print(release_freed_memory())"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    if sys.platform.startswith("linux"):
        assert out.stdout.strip() == "True"
