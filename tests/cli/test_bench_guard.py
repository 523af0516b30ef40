"""``bench guard`` reports the nesting guard's verdicts over the real queries at hand (none refused)."""

from __future__ import annotations

import json

import pytest

from extensions.cli.bench.cli import main


def test_guard_bench_on_the_bundled_golds(capsys, tmp_path):
    assert main(["guard", "--shared", str(tmp_path / "absent"), "--cache-dir", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)["guard"]
    assert list(report) == ["demo"]
    assert report["demo"]["queries"] > 300 and report["demo"]["refused"] == 0


@pytest.mark.shared
def test_guard_bench_on_spider(capsys, tmp_path, spider_dev):
    assert main(["guard", "--shared", str(spider_dev), "--cache-dir", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)["guard"]
    assert set(report) == {"demo", "spider_gold", "spider_pred"}
    assert all(r["refused"] == 0 for r in report.values())
