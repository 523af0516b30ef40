"""The launcher's preflight: exit 2 with one line when verl cannot run here, warnings for missing data."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _launch(tmp_path, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "extensions.verl_launch",
        "--config",
        str(ROOT / "configs" / "train_24gb.yaml"),
        "--set",
        f"logging.output_dir={tmp_path / 'out'}",
        *args,
    ]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_without_gpus_exits_2_with_one_line_and_writes_nothing(tmp_path):
    p = _launch(tmp_path, "--set", "verl.n_gpus_per_node=1000")
    assert p.returncode == 2 and p.stdout == ""
    errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "1000 CUDA GPU(s) per node wanted" in errors[0] and "--print" in errors[0]
    assert "Traceback" not in p.stderr and not (tmp_path / "out").exists()


def test_missing_train_and_val_files_are_warned(tmp_path):
    p = _launch(tmp_path, "--print", "--set", "verl.train_files=nope/train.parquet")
    assert p.returncode == 0
    assert "warning: verl.train_files=nope/train.parquet does not exist" in p.stderr
    assert "warning: verl.val_files=data/verl/val.parquet does not exist" in p.stderr


def test_present_data_files_are_not_warned(tmp_path):
    (tmp_path / "t.parquet").write_bytes(b"")
    p = _launch(tmp_path, "--print", "--set", "verl.train_files=t.parquet", "--set", "verl.val_files=t.parquet")
    assert p.returncode == 0 and "warning:" not in p.stderr


def test_config_mistake_is_one_error_line(tmp_path):
    p = _launch(tmp_path, "--print", "--set", "verl.nnode=2")
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == ["error: verl.nnode: unknown key (got 2); did you mean verl.nnodes?"]


def test_print_gives_a_command_that_needs_nothing_written(tmp_path):
    """The printed command names the config file itself and hands the --set values to the hook."""
    p = _launch(tmp_path, "--print", "--set", "reward.schema_weight=-0.3")
    assert p.returncode == 0 and not (tmp_path / "out").exists()
    config = re.search(r"reward_kwargs\.config=(\S+)", p.stdout).group(1)
    assert pathlib.Path(config).samefile(ROOT / "configs" / "train_24gb.yaml")
    hook_overrides = next(line for line in p.stdout.splitlines() if "reward_kwargs.overrides=" in line)
    assert '"reward.schema_weight=-0.3"' in hook_overrides
    assert "write-config" not in p.stderr
