"""The verifiers 0.4 (v1) path against the real package, in a venv of its own (the system keeps 0.3)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import pytest

from tests.conftest import SHARED
from tests.venvs import LIGHT_DEPS, check, new_venv, pip, skip_if_registry_unreachable, source_copy

SCRIPT = pathlib.Path(__file__).parent / "scripts" / "verifiers_v1_check.py"


@pytest.mark.slow
def test_v1_taskset_scores_like_our_computer(tmp_path, demo_dir):
    skip_if_registry_unreachable("verifiers==0.4.0", tmp_path)
    python = new_venv(tmp_path / "venv")
    check(pip(python, "install", "-q", "verifiers==0.4.0", *LIGHT_DEPS))
    check(pip(python, "install", "-q", "--no-deps", str(source_copy(tmp_path / "src"))))
    args = [str(SHARED)] if (SHARED / "dev.json").exists() else []
    env = {**os.environ, "EXTENSIONS_DEMO_DIR": demo_dir}
    env.pop("PYTHONPATH", None)
    p = check(
        subprocess.run(
            [str(python), str(SCRIPT), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
    )
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["version"] == "0.4.0" and out["api"] == "v1"
    assert out["taskset_type"] == out["by_id_type"] == "SqlTaskset" and out["n_tasks"] >= 300 and out["by_id_n"] == 3
    right, right_metrics = out["right"]
    wrong, wrong_metrics = out["wrong"]
    assert right == 1.0 and right_metrics["acc"] == 1.0 and right_metrics["status_ok"] == 1.0
    assert wrong == pytest.approx(out["wrong_total"]) and wrong_metrics["hallucinations"] >= 1.0
    assert set(right_metrics) == set(out["keys"]) - {"score"}
    assert out["empty"][0] == 0.0
    assert out["config_error"] == "reward.baselin: unknown key (got 'arctic'); did you mean reward.baseline?"
    if args:
        assert out["spider"] == [1.0, 1.0]
