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
