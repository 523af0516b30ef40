"""Threads on a shared machine: no more than the idle cores, passive waiting set before torch, one warning."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from extensions.cli.bench.reliability import busy_processes
from extensions.training import cli
from extensions.training.threads import ThreadPlan, busy_cores, plan_threads, quiet_runtime_env
from tests.conftest import ROOT, require


@pytest.mark.parametrize(
    "cpus,busy,threads", [(2, 0.0, 2), (2, 0.1, 2), (2, 0.6, 1), (2, 2.0, 1), (2, 3.9, 1), (8, 2.6, 5), (8, 9.0, 1)]
)
def test_threads_are_the_idle_cores_and_at_least_one(cpus, busy, threads):
    assert plan_threads(None, cpus=cpus, busy=busy).threads == threads


def test_a_requested_count_is_kept_and_warned_about_when_it_exceeds_the_idle_cores():
    plan = plan_threads(2, cpus=2, busy=2.0)
    assert plan.threads == 2
    assert "--threads 2 is more than the idle cores" in plan.warning()


def test_the_warning_names_the_load_the_choice_and_the_fix():
    assert ThreadPlan(2, 2, 0.1).warning() is None
    assert ThreadPlan(2, 2, None).warning() is None
    text = ThreadPlan(1, 2, 3.9).warning()
    assert text.startswith("warning: other jobs keep 3.9 of this machine's 2 cores busy, so torch uses 1 thread")
    assert "passive waiting" in text and "--threads N" in text and "\n" not in text


def test_the_runtime_environment_keeps_what_the_user_set():
    env = {"OMP_WAIT_POLICY": "ACTIVE"}
    set_now = quiet_runtime_env(1, offline=True, no_telemetry=True, environ=env)
    assert env["OMP_WAIT_POLICY"] == "ACTIVE" and "OMP_WAIT_POLICY" not in set_now
    assert env["OMP_NUM_THREADS"] == "1" and env["HF_HUB_OFFLINE"] == "1" and env["HF_HUB_DISABLE_TELEMETRY"] == "1"
    env = {}
    quiet_runtime_env(2, offline=False, no_telemetry=False, environ=env)
    assert env["OMP_WAIT_POLICY"] == "PASSIVE" and "HF_HUB_OFFLINE" not in env and "HF_HUB_DISABLE_TELEMETRY" not in env


def _runtime(monkeypatch, argv, busy):
    env: dict[str, str] = {}
    monkeypatch.setattr(cli, "quiet_runtime_env", lambda *a, **k: quiet_runtime_env(*a, **k, environ=env))
    monkeypatch.setattr(cli, "release_freed_memory", lambda: True)
    monkeypatch.setattr("extensions.training.threads.busy_cores", lambda interval=0.5: busy)
    monkeypatch.setattr(cli, "usable_cpus", lambda: 2)
    monkeypatch.setattr("extensions.training.threads.usable_cpus", lambda: 2)
    args = cli.parse_args(argv)
    return cli.prepare_runtime(cli.resolve_config(args), args), env


def test_the_demo_warns_once_on_a_busy_machine_and_runs_offline(monkeypatch, capsys):
    config = os.path.join(ROOT, "configs", "demo_cpu.yaml")
    plan, env = _runtime(monkeypatch, ["--demo", "--config", config], busy=3.9)
    assert plan.threads == 1 and env["OMP_NUM_THREADS"] == "1" and env["OMP_WAIT_POLICY"] == "PASSIVE"
    assert env["HF_HUB_OFFLINE"] == "1" and env["HF_HUB_DISABLE_TELEMETRY"] == "1"
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "--threads N" in err
    plan, _ = _runtime(monkeypatch, ["--demo", "--config", config], busy=0.0)
    assert plan.threads == 2 and capsys.readouterr().err == ""
    plan, _ = _runtime(monkeypatch, ["--demo", "--model", "tiny", "--config", config], busy=3.9)
    assert plan.threads == 1 and capsys.readouterr().err == "", "the tiny model always uses one thread"


def test_a_hub_model_is_not_run_offline(monkeypatch):
    config = os.path.join(ROOT, "configs", "train_24gb.yaml")
    _, env = _runtime(monkeypatch, ["--model", "Qwen/Qwen2.5-Coder-3B-Instruct", "--config", config], busy=0.0)
    assert "HF_HUB_OFFLINE" not in env and "HF_HUB_DISABLE_TELEMETRY" not in env


def test_spinning_processes_count_as_busy_cores():
    cpus = os.cpu_count() or 1
    if cpus > 16:
        pytest.skip("too many cores to fill with test processes")
    with busy_processes(2 * cpus):
        busy = busy_cores(1.0)
    assert busy is not None and busy >= 0.75 * cpus
    plan = plan_threads(None, cpus=cpus, busy=busy)
    assert plan.threads <= max(1, round(cpus * 0.25 + 0.5)) and plan.shared


def test_the_command_sets_the_environment_before_torch_starts():
    code = (
        "import sys; from extensions.training import cli; assert 'torch' not in sys.modules, 'cli imports torch'; "
        "args = cli.parse_args(['--demo', '--config', 'configs/demo_cpu.yaml', '--threads', '1']); "
        "cli.prepare_runtime(cli.resolve_config(args), args); "
        "import os, torch; from extensions.training.threads import apply_threads; apply_threads(1); "
        "print(os.environ['OMP_WAIT_POLICY'], torch.get_num_threads(), torch.get_num_interop_threads())"
    )
    require("torch")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MKL_", "KMP_"))}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["PASSIVE", "1", "1"]
