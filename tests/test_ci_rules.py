"""CI does not skip what it can run: missing real data, or a missing optional dependency that CI installs, is a
skip on a contributor's machine and a failure in CI."""

import ast

import pytest

from tests.conftest import ROOT, in_ci, require, require_shared


@pytest.mark.parametrize("value,expected", [("true", True), ("1", True), ("", False), ("false", False)])
def test_ci_is_read_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected


def test_absent_shared_data_is_a_skip_outside_ci(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_shared(tmp_path / "absent")


def test_absent_shared_data_fails_in_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_shared(tmp_path / "absent")


def test_present_shared_data_is_returned(monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "true")
    (tmp_path / "official_exec_verdicts.jsonl").write_text("{}\n")
    assert require_shared(tmp_path) == tmp_path


def test_a_missing_dependency_is_a_skip_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        require("no_such_dependency_xyz")


def test_a_missing_dependency_that_ci_installs_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: optional dependency no_such_dependency_xyz"):
        require("no_such_dependency_xyz")


def test_a_missing_dependency_that_ci_leaves_out_stays_a_skip_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.skip.Exception):
        require("wandb.no_such_submodule_xyz")


def test_a_present_dependency_is_returned(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert require("json").loads("[1]") == [1]


def test_tests_check_optional_dependencies_through_require():
    """pytest.importorskip (or a skip on ImportError) would skip in CI too; tests call require instead."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "importorskip":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.ExceptHandler) and "ImportError" in ast.unparse(node.type or ast.Pass()):
                skips = [n for n in ast.walk(node) if isinstance(n, ast.Attribute) and n.attr == "skip"]
                offenders += [f"{path.relative_to(ROOT)}:{n.lineno}" for n in skips]
    assert offenders == []


def _writes_environ(node: ast.AST) -> bool:
    """``os.environ[k] = v``, ``del os.environ[k]``, ``os.environ.update(...)`` and the like, or ``os.putenv``."""
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        return any(isinstance(t, ast.Subscript) and ast.unparse(t.value) == "os.environ" for t in targets)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        owner, name = ast.unparse(node.func.value), node.func.attr
        return (owner == "os.environ" and name in {"update", "setdefault", "pop", "popitem", "clear"}) or (
            owner == "os" and name in {"putenv", "unsetenv"}
        )
    return False


def test_tests_change_the_environment_through_monkeypatch():
    """A direct write to os.environ outlives its test and leaks into every later one."""
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _writes_environ(node)
    ]
    assert offenders == []
