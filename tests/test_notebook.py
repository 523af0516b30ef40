"""Runs SQL_R1_Extension_Colab.ipynb top to bottom with a real Jupyter kernel; any cell error fails."""

import json
import os

import pytest

from tests.conftest import require

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "SQL_R1_Extension_Colab.ipynb")


def test_the_install_cell_installs_the_package_without_a_placeholder():
    """Outside a checkout the notebook installs the distribution by name (or the wheel/URL it is given)."""
    cells = json.load(open(NOTEBOOK))["cells"]
    text = "".join("".join(c["source"]) for c in cells)
    assert "<repo>" not in text and "git clone" not in text
    install = next("".join(c["source"]) for c in cells if c["cell_type"] == "code" and "pip" in "".join(c["source"]))
    assert "text2sql-rewards" in install and "[train,fast]" in install
    assert "import train_colab" not in text, "the notebook runs from the installed package, not from a checkout"


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
