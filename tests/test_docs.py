"""The docs stay true: result tables match their committed JSON, and the README's commands are what CI runs."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_result_tables_match_the_committed_json():
    r = subprocess.run([sys.executable, "docs/results/render.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, "run `python docs/results/render.py`: a table is out of date\n" + r.stdout + r.stderr


def test_readme_gives_both_commands_first_and_ci_runs_the_test_command():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 160
    head = "\n".join(lines[:25])
    assert "train_colab.py --demo" in head
    test_cmd = next(line.strip() for line in lines[:25] if "python -m pytest" in line)
    assert test_cmd in (ROOT / ".ci" / "run").read_text()


def _render_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("render", ROOT / "docs" / "results" / "render.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_marked_section_is_present():
    render = _render_module()
    for page, name in render.SECTIONS:
        text = (ROOT / "docs" / page).read_text()
        assert f"<!-- BEGIN {name} -->" in text and f"<!-- END {name} -->" in text, f"{page} lost section {name}"


def test_render_fails_on_a_missing_section_or_json(monkeypatch, capsys):
    import pytest

    render = _render_module()
    with pytest.raises(render.RenderError, match="missing marked section"):
        render.render_page("no markers here", "demo", "table")
    monkeypatch.setattr(render, "SECTIONS", {("training.md", "demo"): ("no_such.json", render.demo_table)})
    assert render.render(check=True) == 2
    assert "missing result file docs/results/no_such.json" in capsys.readouterr().err


def test_every_committed_figure_is_drawn_from_its_committed_json():
    """Each PNG under docs/ is registered with the JSON it is drawn from, and records that JSON's SHA-256."""
    render = _render_module()
    pngs = {p.name for p in (ROOT / "docs").rglob("*.png")}
    assert pngs == set(render.FIGURES), "register the figure in render.FIGURES with the JSON it shows"
    assert render.stale_figures() == []


def test_a_stale_figure_is_reported(tmp_path, monkeypatch):
    import json
    import shutil

    render = _render_module()
    for name in ("demo_reward_curves.png", "demo_eval.json"):
        shutil.copy(ROOT / "docs" / "results" / name, tmp_path / name)
    doc = json.loads((tmp_path / "demo_eval.json").read_text())
    doc["runs"][0]["wall_s"] += 1  # the JSON changed, the figure did not
    (tmp_path / "demo_eval.json").write_text(json.dumps(doc))
    monkeypatch.setattr(render, "HERE", str(tmp_path))
    monkeypatch.setattr(render, "FIGURES", {"demo_reward_curves.png": "demo_eval.json"})
    stale = render.stale_figures()
    assert stale == ["docs/results/demo_reward_curves.png (not drawn from docs/results/demo_eval.json)"]
