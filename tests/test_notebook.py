"""SQL_R1_Extension_Colab.ipynb: lint-clean, installs where it runs, and runs top to bottom with a real kernel.

The slow tests execute it headlessly (nbclient): inside this environment (package importable), and in a fresh
venv from the built wheel alone, outside any checkout, as a hosted runtime would see it: with the wheel named in
its marked cell it runs; with no source it stops with one sentence.
"""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests.conftest import require
from tests.venvs import check, hosted_runtime_venv, skip_if_registry_unreachable, source_copy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "SQL_R1_Extension_Colab.ipynb")
RUNNER = pathlib.Path(__file__).parent / "packaging" / "run_notebook.py"
STOP = (
    "Set SOURCE in the cell above to where text2sql-rewards comes from (a git+https URL of the repository, "
    'the path of a wheel, or "text2sql-rewards" once it is published), then run all again.'
)


def _cells():
    return json.load(open(NOTEBOOK))["cells"]


def test_one_marked_cell_names_the_source_and_the_install_cell_uses_it():
    cells = _cells()
    text = "".join("".join(c["source"]) for c in cells)
    assert "<repo>" not in text and "git clone" not in text
    assert "import train_colab" not in text, "the notebook runs from the installed package, not from a checkout"
    marked = [c for c in cells if "".join(c["source"]).startswith("# >>> SET THIS")]
    assert len(marked) == 1 and marked[0]["id"] == "set-source"
    assert 'SOURCE = ""' in "".join(marked[0]["source"])
    install = "".join(cells[cells.index(marked[0]) + 1]["source"])
    assert "TEXT2SQL_REWARDS_PACKAGE" not in text, "the source is set in the marked cell, not in a hidden variable"
    assert '"-e", ".[train,fast]"' in install and "SOURCE" in install and STOP.split(" (")[0] in install


def test_the_notebook_passes_ruff_check_and_format():
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed: pip install -e '.[core-test]'")
    for args in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        r = subprocess.run([sys.executable, "-m", "ruff", *args, NOTEBOOK], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


@pytest.mark.slow
def test_notebook_runs_top_to_bottom(tmp_path, demo_dir, monkeypatch):
    nbformat = require("nbformat")
    nbclient = require("nbclient")
    require("ipykernel")
    require("trl")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    # Work in an empty scratch folder, as after a plain install: outputs/ and data/ do not land in the checkout.
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    monkeypatch.setenv("NOTEBOOK_DEMO_STEPS", "2")
    monkeypatch.setenv("NOTEBOOK_SFT_STEPS", "5")
    monkeypatch.setenv("PYTHONPATH", ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the reward curve is shown inline"
    assert (work / "outputs" / "colab_demo" / "metrics.jsonl").exists()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel built from a copy of the sources (nothing is written into the checkout)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = source_copy(tmp / "src")
    args = ["wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist"), str(src)]
    check(subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=900))
    return next((tmp / "dist").glob("text2sql_rewards-*.whl"))


def _run_from_fresh_venv(tmp_path, demo_dir, source):
    """The notebook in a fresh venv without our package, TRL or PEFT, run from an empty folder outside the checkout."""
    require("nbclient")
    require("ipykernel")
    require("torch")
    skip_if_registry_unreachable("trl", tmp_path)
    python = hosted_runtime_venv(tmp_path / "venv", hide=("trl", "peft"))
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EXTENSIONS_CONFIG", "VIRTUAL_ENV")}
    env.update(EXTENSIONS_DEMO_DIR=demo_dir, NOTEBOOK_DEMO_STEPS="2", NOTEBOOK_SFT_STEPS="5")
    out = check(
        subprocess.run(
            [str(python), str(RUNNER), NOTEBOOK, source],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=2400,
        )
    )
    return json.loads(out.stdout.strip().splitlines()[-1]), python


@pytest.mark.slow
def test_with_no_source_outside_a_checkout_it_stops_with_one_sentence(tmp_path, demo_dir):
    summary, _ = _run_from_fresh_venv(tmp_path, demo_dir, "")
    assert summary["errors"] == [{"cell": "cell-05", "ename": "StopNotebook", "lines": [STOP]}]
    assert summary["ran"][-1] == "cell-05", "Run all stops at the install cell"


@pytest.mark.slow
def test_from_the_wheel_alone_in_a_fresh_venv_the_notebook_runs(tmp_path, demo_dir, wheel):
    summary, python = _run_from_fresh_venv(tmp_path, demo_dir, str(wheel))
    assert summary["errors"] == []
    assert summary["images"] >= 1, "the reward curve is shown inline"
    venv = str(python.parent.parent)
    installed = next(line for line in summary["text"].splitlines() if line.startswith("extensions 0.1.0 from "))
    assert installed.split(" from ", 1)[1].startswith(venv) and "site-packages" in installed
    assert (tmp_path / "work" / "outputs" / "colab_demo" / "eval.json").exists()
