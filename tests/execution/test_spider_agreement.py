"""Agreement with the official Spider test-suite evaluator on 5,832 real predictions."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from extensions.execution.engine import ExecutionEngine


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.parametrize("keep_distinct,column", [(False, "official_exec"), (True, "official_exec_keep_distinct")])
def test_official_verdict_agreement(spider_dev, keep_distinct, column):
    rows = [json.loads(line) for line in (spider_dev / "official_exec_verdicts.jsonl").read_text().splitlines()]
    assert len(rows) == 5832
    with ExecutionEngine(workers=2, timeout_s=30, adaptive_timeout=False) as eng:

        def verdict(r: dict) -> int:
            db = str(spider_dev / "database" / r["db_id"] / f"{r['db_id']}.sqlite")
            return int(eng.match(db, r["pred"], r["gold"], semantics="spider", keep_distinct=keep_distinct).match)

        with ThreadPoolExecutor(6) as ex:
            ours = list(ex.map(verdict, rows))
    disagreements = [(r["system"], r["index"]) for r, v in zip(rows, ours) if v != r[column]]
    assert disagreements == [], disagreements[:20]  # agreement == 1.0
