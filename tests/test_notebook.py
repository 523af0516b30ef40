"""Runs SQL_R1_Extension_Colab.ipynb top to bottom with a real Jupyter kernel; any cell error fails."""

import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("trl")

pytestmark = pytest.mark.slow  # trains or runs a real framework end to end

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_notebook_runs_top_to_bottom(tmp_path, demo_dir, monkeypatch):
    nb = nbformat.read(os.path.join(ROOT, "SQL_R1_Extension_Colab.ipynb"), as_version=4)
    nbformat.validate(nb)
    # Work in a scratch copy of the repo root so outputs/ and data/ do not land in the checkout.
    work = tmp_path / "work"
    work.mkdir()
    for name in ("configs", "train_colab.py"):
        src = os.path.join(ROOT, name)
        os.symlink(src, work / name)
    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    monkeypatch.setenv("NOTEBOOK_DEMO_STEPS", "2")
    monkeypatch.setenv("NOTEBOOK_SFT_STEPS", "5")
    monkeypatch.setenv("PYTHONPATH", ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the reward curve is shown inline"
    assert (work / "outputs" / "colab_demo" / "metrics.jsonl").exists()
