"""ruff passes on the package, the tests and train_colab.py, with the settings in pyproject.toml ([tool.ruff])."""

import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import ROOT, in_ci

TARGETS = ["extensions", "tests", "train_colab.py"]


def test_ruff_check_passes():
    if importlib.util.find_spec("ruff") is None:  # the test and core-test extras install it
        if in_ci():
            pytest.fail("CI=true: ruff is not installed", pytrace=False)
        pytest.skip("ruff is not installed: pip install -e '.[core-test]'")
    r = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", *TARGETS], cwd=ROOT, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
