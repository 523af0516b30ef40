"""ruff passes over the whole repository (package, tests, docs and their scripts, the notebook, train_colab.py),
both its lint rules and its formatter, with the settings in pyproject.toml ([tool.ruff])."""

import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import ROOT, in_ci


def _ruff(*args: str) -> subprocess.CompletedProcess:
    if importlib.util.find_spec("ruff") is None:  # the test and core-test extras install it
        if in_ci():
            pytest.fail("CI=true: ruff is not installed", pytrace=False)
        pytest.skip("ruff is not installed: pip install -e '.[core-test]'")
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_passes():
    r = _ruff("check", "--no-cache", ".")
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]


def test_ruff_format_leaves_every_file_as_it_is():
    r = _ruff("format", "--check", "--no-cache", ".")
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
