"""The runnable examples in the execution modules' docstrings stay true."""

import doctest
import importlib

import pytest

MODULES = [
    "extensions._util.cache",
    "extensions.execution.compare",
    "extensions.execution.engine",
    "extensions.execution.lane",
    "extensions.execution.lane_bench",
    "extensions.execution.sandbox",
    "extensions.execution.settings",
    "extensions.execution.wire",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
