"""The default work budget is above every gold the project knows (``python -m extensions.cli.bench.steps``)."""

from extensions.cli.bench.steps import bundled_items, measure, spider_items
from extensions.execution.settings import DEFAULTS


def test_no_bundled_demo_gold_passes_the_default_budget(tmp_path):
    report = measure(bundled_items(str(tmp_path), heavy=False))
    assert report.statements > 500 and not report.failed
    assert 0 < report.max_steps < DEFAULTS.max_vm_steps


def test_no_official_spider_dev_gold_passes_the_default_budget(spider_dev):
    report = measure(spider_items(str(spider_dev)))
    assert report.statements >= 972 and not report.failed
    assert 0 < report.max_steps < DEFAULTS.max_vm_steps
