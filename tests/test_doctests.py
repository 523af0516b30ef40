"""The runnable examples in every module's docstrings stay true.

Every module of the package is found by walking it; a module whose optional dependency is not
installed is skipped, and a module without examples has nothing to check.
"""

import doctest
import importlib
import pkgutil

import pytest

import extensions

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(extensions.__path__, "extensions.")
    if not m.name.endswith("__main__") and ".worker" not in m.name
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch, demo_dir):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    monkeypatch.delenv("EXTENSIONS_CONFIG", raising=False)
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # an optional dependency (torch, trl, verl, verifiers 0.4) is missing
        pytest.skip(f"{name}: {exc}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_the_core_modules_have_examples():
    """The modules a newcomer reads first each carry at least one runnable example."""
    core = ["extensions.config", "extensions.reward_enhanced", "extensions.rewards.combine", "extensions.rewards.presets",
            "extensions.sql.parse", "extensions.sql.guard", "extensions.execution.engine", "extensions.data.layout"]
    for name in core:
        assert doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS).attempted > 0, name
