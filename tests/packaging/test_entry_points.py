"""The commands of ``[project.scripts]``: the user-facing tools are all there and each entry point resolves to a
``main`` that parses its arguments (``--help`` prints its usage and exits 0)."""

from __future__ import annotations

import importlib

import pytest
import tomllib

from tests.venvs import ROOT

SCRIPTS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
# Each tool the README names, and the ``python -m`` module that runs the same main.
TOOLS = {
    "text2sql-evaluate": "extensions.evaluate",
    "text2sql-validate": "extensions.validation",
    "text2sql-analyze": "extensions.analyze",
    "text2sql-bench": "extensions.bench",
    "text2sql-ablation": "extensions.ablation",
    "text2sql-verl-launch": "extensions.verl_launch",
    "text2sql-data": "extensions.data.__main__",
}


def _resolve(target: str):
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def test_every_user_facing_tool_is_a_command():
    assert set(SCRIPTS) == set(TOOLS)


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_the_command_runs_the_same_main_as_python_m(name):
    assert _resolve(SCRIPTS[name]) is importlib.import_module(TOOLS[name]).main


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_the_command_parses_its_arguments(name, capsys):
    with pytest.raises(SystemExit) as done:
        _resolve(SCRIPTS[name])(["--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("usage: ")
