"""CI does not skip what it can run: missing real data is a skip on a contributor's machine, a failure in CI."""

import pytest

from tests.conftest import in_ci, require_shared


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
