"""OpenRLHF: our reward_func through OpenRLHF 0.11's own loading code, on our prepared JSONL.

OpenRLHF is installed with ``--no-deps`` into a temporary folder (its GPU dependencies are not needed
for the modules used here: ``openrlhf.utils.agent`` loads ``--reward.remote_url <file.py>`` and calls
``reward_func``; ``openrlhf.datasets.prompts_dataset.preprocess_data`` reads ``--data.input_key`` /
``--data.label_key``). The contract tests below run without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import require

torch = require("torch")

from extensions.data.prepare import prepare  # noqa: E402
from extensions.errors import ConfigError  # noqa: E402
from extensions.integrations.openrlhf import response_text, reward_func  # noqa: E402
from tests.venvs import ROOT, check, pip, skip_if_registry_unreachable  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(__file__), "scripts", "openrlhf_check.py")


@pytest.fixture(scope="module")
def jsonl(tmp_path_factory, demo_dir):
    with pytest.MonkeyPatch.context() as mp:  # undone after the module's tests
        mp.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
        yield prepare("demo", str(tmp_path_factory.mktemp("orl")), max_examples=8, fmt="openrlhf")


def test_prepare_writes_prompt_label_datasource(jsonl):
    assert jsonl["train"].endswith("train.jsonl") and jsonl["val"].endswith("val.jsonl")
    with open(jsonl["train"]) as fh:
        records = [json.loads(line) for line in fh]
    assert len(records) == 8
    assert all(sorted(r) == ["datasource", "label", "prompt"] for r in records)
    assert records[0]["prompt"][-1]["role"] == "user" and json.loads(records[0]["label"])["db_path"].endswith(".sqlite")


def test_reward_func_contract(jsonl):
    with open(jsonl["train"]) as fh:
        rec = json.loads(fh.readline())
    gold = json.loads(rec["label"])["sql"]
    prompt = "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
    queries = [prompt + f"<think>a</think><answer>```sql\n{gold}\n```</answer><|im_end|>", prompt + "SELECT 1", None, 7]
    out = reward_func(queries, [prompt, prompt, None, prompt], [rec["label"], rec["label"], "{not json", None])
    assert out["rewards"].shape == (4,) and out["rewards"].dtype == torch.float32
    assert out["scores"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert out["rewards"][0] > max(out["rewards"][1:].tolist())
    assert {"acc", "baseline", "status_ok", "status_gold_error"} <= set(out["extra_logs"])
    assert all(v.shape == (4,) for v in out["extra_logs"].values())
    assert out["extra_logs"]["status_gold_error"][3] == 1.0


@pytest.mark.parametrize(
    "query,prompt,response",
    [
        ("PQ answer", "PQ ", "answer"),
        ("<bos>PQ answer", "PQ ", "answer"),
        ("answer only", "missing", "answer only"),
        (None, "p", ""),
    ],
)
def test_response_text(query, prompt, response):
    assert response_text(query, prompt) == response


def test_config_mistake_raises():
    with pytest.raises(ConfigError, match="reward.margn"):
        reward_func(["x"], ["x"], ["SELECT 1"], overrides=["reward.margn=0.1"])


@pytest.mark.slow
def test_config_mistake_stops_loading_by_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("reward: {baseline: nope}\n")
    code = (
        "import importlib.util as u, sys; s = u.spec_from_file_location('reward_func', sys.argv[1]); "
        "m = u.module_from_spec(s); s.loader.exec_module(m)"
    )
    env = {**os.environ, "EXTENSIONS_CONFIG": str(bad), "PYTHONPATH": str(ROOT)}
    p = subprocess.run(
        [sys.executable, "-c", code, os.path.join(ROOT, "extensions", "integrations", "openrlhf.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 1 and "ConfigError: reward.baseline" in p.stderr


@pytest.mark.slow
def test_through_openrlhf_loading_code(jsonl, tmp_path):
    skip_if_registry_unreachable("openrlhf==0.11.2", tmp_path)
    target = tmp_path / "openrlhf"
    check(pip(sys.executable, "install", "-q", "--no-deps", "--target", str(target), "openrlhf==0.11.2"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)])}
    env.pop("EXTENSIONS_CONFIG", None)
    p = check(
        subprocess.run([sys.executable, SCRIPT, jsonl["train"]], env=env, capture_output=True, text=True, timeout=600)
    )
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["loaded"] == "reward_func"
    assert [c["score"] for c in out["cases"]] == [[1.0], [0.0], [0.0], [0.0]]
    assert out["cases"][0]["reward"][0] > max(c["reward"][0] for c in out["cases"][1:])
    assert out["cases"][2]["extra"]["status_forbidden"] == [1.0]
    assert out["bad_label"] == {"reward": [0.0], "gold_error": [1.0]}
