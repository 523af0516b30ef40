"""The verifiers 0.4 execute_sql toolset and tool taskset against the real package, in a venv of its own."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import pytest

from tests.venvs import (
    LIGHT_DEPS,
    check,
    new_venv,
    pip,
    skip_if_registry_unreachable,
    source_copy,
)

SCRIPT = pathlib.Path(__file__).parent / "scripts" / "verifiers_v1_tool_check.py"


@pytest.mark.slow
def test_v1_toolset_answers_and_the_task_records_tool_use(tmp_path, demo_dir):
    skip_if_registry_unreachable("verifiers==0.4.0", tmp_path)
    python = new_venv(tmp_path / "venv")
    check(pip(python, "install", "-q", "verifiers==0.4.0", *LIGHT_DEPS))
    check(pip(python, "install", "-q", "--no-deps", str(source_copy(tmp_path / "src"))))
    env = {**os.environ, "EXTENSIONS_DEMO_DIR": demo_dir}
    env.pop("PYTHONPATH", None)
    p = check(
        subprocess.run([str(python), str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    )
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["toolset"] == "SqlToolset" and "`execute_sql(query)` up to 2 times" in out["system"]
    ok, forbidden, spent = out["answers"]
    assert ok.splitlines()[0] == "count(*)" and ok.endswith("(1 row)")
    assert forbidden.startswith("error: forbidden") and spent.startswith("error: call budget spent (2 of 2 calls)")
    reward, metrics = out["right"]
    assert reward == pytest.approx(1.0) and metrics["acc"] == 1.0
    assert (metrics["tool_calls"], metrics["tool_errors"], metrics["tool_budget_spent"]) == (2.0, 1.0, 1.0)
