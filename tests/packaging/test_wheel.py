"""The built wheel and sdist, installed non-editable into a fresh venv, run the quick start, the hook and the CLIs."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import tarfile
import zipfile

import pytest
import tomllib

from extensions.training.recipes import load_recipes
from tests.data.test_demo import DATASET_SHA256
from tests.venvs import ROOT, check, new_venv, pip, skip_if_registry_unreachable, source_copy

SCRIPT = pathlib.Path(__file__).parent / "installed_check.py"
CONFIGS = sorted(p.name for p in (ROOT / "configs").glob("*.yaml"))
CLIS = ["extensions.evaluate", "extensions.validation", "extensions.data", "extensions.verl_launch"]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
CORE_COMMANDS = ["text2sql-evaluate", "text2sql-validate", "text2sql-data", "text2sql-verl-launch"]  # no extras


def test_distribution_name_is_not_the_import_name():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["name"] == "text2sql-rewards"  # "extensions" on PyPI is an unrelated 2010 project


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pkg")
    skip_if_registry_unreachable("build", tmp)
    src = source_copy(tmp / "src")
    python = new_venv(tmp / "venv")
    check(pip(python, "install", "-q", "build"))
    check(
        subprocess.run(
            [str(python), "-m", "build", "--outdir", str(tmp / "dist"), str(src)],
            capture_output=True,
            text=True,
            timeout=900,
        )
    )
    wheel = next((tmp / "dist").glob("text2sql_rewards-*.whl"))
    check(pip(python, "install", "-q", str(wheel)))
    run = tmp / "elsewhere"
    run.mkdir()
    return python, tmp / "dist", run


def _run(python, cwd, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EXTENSIONS_CONFIG")}
    env["EXTENSIONS_DEMO_DIR"] = str(cwd / "demo")
    return check(subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600))


@pytest.mark.slow
def test_wheel_and_sdist_ship_the_configs(installed):
    _, dist, _ = installed
    wheel = next(dist.glob("*.whl"))
    with zipfile.ZipFile(wheel) as z:
        shipped = sorted(n.rsplit("/", 1)[1] for n in z.namelist() if n.startswith("extensions/configs/"))
    assert shipped == CONFIGS
    with tarfile.open(next(dist.glob("*.tar.gz"))) as t:
        members = [m for m in t.getmembers() if "/extensions/configs/" in m.name]
    assert sorted(m.name.rsplit("/", 1)[1] for m in members) == CONFIGS and all(m.isfile() for m in members)


@pytest.mark.slow
def test_wheel_and_sdist_ship_the_demo_questions(installed):
    _, dist, _ = installed
    with zipfile.ZipFile(next(dist.glob("*.whl"))) as z:
        assert "extensions/data/demo_questions.yaml" in z.namelist()
    with tarfile.open(next(dist.glob("*.tar.gz"))) as t:
        assert any(m.name.endswith("/extensions/data/demo_questions.yaml") and m.isfile() for m in t.getmembers())


@pytest.mark.slow
def test_quick_start_and_hook_from_the_installed_wheel(installed):
    python, _, run = installed
    out = json.loads(_run(python, run, str(SCRIPT)).stdout.strip().splitlines()[-1])
    assert "site-packages" in out["package_dir"]
    qs = out["quick_start"]
    assert qs["schema"] == -0.5 and qs["structural"] == 1.0 and qs["syntax"] == 0.2 and qs["total"] == 1.0
    assert qs["train_24gb_lora_r"] > 0
    assert out["hook"] == {"score": 1.0, "acc": 1.0, "status_ok": 1.0}
    questions = out["demo_questions"]  # read through importlib.resources from the installed package
    assert questions["file"] == os.path.join(out["package_dir"], "data", "demo_questions.yaml")
    assert questions["sha256"] == DATASET_SHA256
    assert out["recipes"] == load_recipes(ROOT / "configs" / "recipes.yaml").model_dump(mode="json")


@pytest.mark.slow
@pytest.mark.parametrize("module", CLIS)
def test_clis_from_the_installed_wheel(installed, module):
    python, _, run = installed
    assert _run(python, run, "-m", module, "--help").stdout.startswith(f"usage: python -m {module}")


@pytest.mark.slow
def test_every_command_is_installed(installed):
    python, _, _ = installed
    assert all((python.parent / name).is_file() for name in SCRIPTS)


@pytest.mark.slow
@pytest.mark.parametrize("name", CORE_COMMANDS)
def test_commands_from_the_installed_wheel(installed, name):
    python, _, run = installed
    assert _run(python.parent / name, run, "--help").stdout.startswith("usage: ")


@pytest.mark.slow
def test_launcher_finds_the_shipped_config_and_hook(installed):
    python, _, run = installed
    out = _run(python, run, "-m", "extensions.verl_launch", "--config", "configs/verl_8gpu.yaml", "--print").stdout
    assert "site-packages/extensions/verl_hook.py" in out and "trainer.n_gpus_per_node=8" in out
