"""The held-out measuring reward measures hallucinations and structure whatever the shipped default is."""

from __future__ import annotations

import pytest

from extensions.data.demo import build_demo_databases
from extensions.training.heldout import measuring_computer, summarize


@pytest.fixture(scope="module")
def hr_db(tmp_path_factory) -> str:
    return build_demo_databases(str(tmp_path_factory.mktemp("demo")))["hr"]


def _answer(sql: str) -> str:
    return f"<think>Look at the tables.</think><answer>```sql\n{sql}\n```</answer>"


def test_a_hallucinated_table_counts_as_a_hallucination(hr_db):
    gold = {"sql": "SELECT name FROM employees", "db_path": hr_db}
    computer = measuring_computer()
    try:
        wrong, right = computer.compute_rewards(
            [_answer("SELECT name FROM staff"), _answer("SELECT name FROM employees")], [gold, gold]
        )
    finally:
        computer.engine.close()
    metrics = summarize([wrong.breakdown, right.breakdown])
    assert wrong.breakdown["hallucinations"] >= 1 and right.breakdown["hallucinations"] == 0
    assert metrics["hallucination_rate"] == 0.5 and metrics["exec_match"] == 0.5


def test_structural_f1_is_measured_on_a_wrong_answer(hr_db):
    gold = {"sql": "SELECT name FROM employees WHERE id > 3", "db_path": hr_db}
    computer = measuring_computer()
    try:
        (r,) = computer.compute_rewards([_answer("SELECT name FROM employees WHERE id > 5")], [gold])
    finally:
        computer.engine.close()
    assert r.breakdown["acc"] == 0.0 and 0.0 < r.breakdown["structural_f1"] < 1.0
