"""The runnable examples in module docstrings stay true."""

import doctest
import importlib

import pytest

MODULES = [
    "extensions._util.coalesce",
    "extensions._util.forksafe",
    "extensions.config",
    "extensions.data.demo",
    "extensions.data.synth",
    "extensions.data.templates",
    "extensions.evaluate",
    "extensions._util.cache",
    "extensions.execution.compare",
    "extensions.execution.engine",
    "extensions.integrations.trl",
    "extensions.reward_enhanced",
    "extensions.rewards.base",
    "extensions.rewards.presets",
    "extensions.rewards.schema_aware",
    "extensions.rewards.structural",
    "extensions.rewards.syntax",
    "extensions.sql.clauses",
    "extensions.sql.extract",
    "extensions.sql.hardness",
    "extensions.sql.normalize",
    "extensions.sql.parse",
    "extensions.sql.resolve",
    "extensions.sql.schema",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
