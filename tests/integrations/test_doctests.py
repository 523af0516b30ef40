"""The runnable examples in the adapters' docstrings stay true."""

import doctest
import importlib

import pytest

MODULES = [
    "extensions.integrations.breakdown_cache",
    "extensions.integrations.computers",
    "extensions.integrations.openrlhf",
    "extensions.integrations.rows",
    "extensions.integrations.trl",
    "extensions.integrations.verl.hook",
    "extensions.integrations.verl.launch",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, demo_dir, monkeypatch):
    if name.endswith("openrlhf"):
        pytest.importorskip("torch")
    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    monkeypatch.delenv("EXTENSIONS_CONFIG", raising=False)
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
