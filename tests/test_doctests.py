"""The runnable examples in every module's docstrings stay true.

Every module of the package is found by walking it; a module whose optional third-party dependency is not
installed is skipped, or fails under CI=true when CI installs that dependency (an ImportError of one of our own
modules always fails), and a module without examples has nothing to check.
"""

import ast
import doctest
import importlib
import pathlib
import pkgutil
import re

import pytest

import extensions
from tests.conftest import missing_dependency, require

MODULES = ["extensions"] + sorted(
    m.name
    for m in pkgutil.walk_packages(extensions.__path__, "extensions.")
    if not m.name.endswith("__main__") and ".worker" not in m.name
)


# Modules that import without an optional dependency but whose examples use it (the fast core run has none).
EXAMPLES_NEED = {"extensions.integrations.openrlhf": "torch", "extensions.training.grpo_config": "trl"}


def _third_party(exc: ImportError) -> bool:
    """True when the module that could not be found is not ours (``exc.name`` is set by a failed import)."""
    return bool(exc.name) and exc.name.partition(".")[0] != "extensions"


def test_an_import_error_of_our_own_module_is_not_a_third_party_one():
    assert _third_party(ModuleNotFoundError("No module named 'torch'", name="torch"))
    assert not _third_party(ModuleNotFoundError("No module named 'extensions.x'", name="extensions.x"))
    assert not _third_party(ImportError("cannot import name 'f' from 'extensions.sql'"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch, demo_dir):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    monkeypatch.delenv("EXTENSIONS_CONFIG", raising=False)
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        if not _third_party(exc):
            raise
        missing_dependency(exc.name, f"{name}: {exc}")  # a skip (a failure under CI=true unless CI leaves it out)
    if name in EXAMPLES_NEED:
        require(EXAMPLES_NEED[name])
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_the_core_modules_have_examples():
    """The modules a newcomer reads first each carry at least one runnable example."""
    core = [
        "extensions.config",
        "extensions.reward_enhanced",
        "extensions.rewards.combine",
        "extensions.rewards.presets",
        "extensions.sql.parse",
        "extensions.sql.guard",
        "extensions.execution.engine",
        "extensions.data.layout",
    ]
    for name in core:
        assert doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS).attempted > 0, name


def test_no_example_only_checks_that_a_name_exists():
    """``callable(f)`` or ``hasattr(m, "f")`` stays true whatever ``f`` does: such an example cannot fail."""
    pattern = re.compile(r"^(callable|hasattr)\(")
    trivial = []
    for path in sorted(pathlib.Path(extensions.__file__).parent.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in [tree, *ast.walk(tree)]:
            if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for example in doctest.DocTestParser().get_examples(ast.get_docstring(node) or ""):
                if pattern.match(example.source.strip()):
                    trivial.append(f"{path.name}: {example.source.strip()}")
    assert trivial == []
