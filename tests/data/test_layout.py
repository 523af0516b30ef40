"""What counts as a test-suite variant of a database: visible *.sqlite regular files with SQLite's header."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest

from extensions.config import RewardConfig
from extensions.data.layout import (
    database_variants,
    is_database_variant,
    resolve_db_paths,
)
from extensions.rewards.combine import RewardComputer

GOLD = "SELECT count(*) FROM employees"
PRED = "```sql\nSELECT count(salary) FROM employees\n```"  # equal to the gold wherever no salary is NULL


@pytest.fixture()
def root(tmp_path, demo_paths) -> str:
    folder = tmp_path / "db" / "hr"
    folder.mkdir(parents=True)
    shutil.copy(demo_paths["hr"], folder / "hr.sqlite")
    return str(tmp_path / "db")


def _stray(folder: str) -> list[str]:
    """Files a careless copy leaves: none of them is a database variant."""
    with open(os.path.join(folder, "._hr.sqlite"), "wb") as fh:  # macOS AppleDouble resource fork
        fh.write(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + b"\x00" * 64)
    with open(os.path.join(folder, "empty.sqlite"), "wb"):
        pass
    with open(os.path.join(folder, "notes.sqlite"), "w") as fh:
        fh.write("not a database")
    os.symlink(os.path.join(folder, "gone.sqlite"), os.path.join(folder, "old.sqlite"))  # dangling
    os.mkdir(os.path.join(folder, "backup.sqlite"))
    shutil.copy(os.path.join(folder, "hr.sqlite"), os.path.join(folder, "hr.sqlite-journal"))
    return ["._hr.sqlite", "empty.sqlite", "notes.sqlite", "old.sqlite", "backup.sqlite", "hr.sqlite-journal"]


def test_stray_files_are_not_variants_and_the_sample_scores_normally(root, engine):
    folder = os.path.join(root, "hr")
    for name in _stray(folder):
        assert not is_database_variant(os.path.join(folder, name)), name
    assert resolve_db_paths("hr", root) == [os.path.join(folder, "hr.sqlite")]
    r = RewardComputer(RewardConfig(baseline="arctic"), engine=engine, db_root=root).compute_reward(
        PRED, {"sql": GOLD, "db_id": "hr"}
    )
    assert r.details["status"] == "ok" and r.breakdown["correct"] == 1.0


def test_real_variants_are_used_whatever_their_name_and_through_links(root, engine):
    folder = os.path.join(root, "hr")
    _stray(folder)
    variant = os.path.join(folder, "hr_2.sqlite")
    shutil.copy(os.path.join(folder, "hr.sqlite"), variant)
    with sqlite3.connect(variant) as conn:
        conn.execute("UPDATE employees SET salary = NULL WHERE id = (SELECT min(id) FROM employees)")
    conn.close()
    os.symlink(variant, os.path.join(folder, "linked.sqlite"))
    assert database_variants(folder, "hr") == [
        os.path.join(folder, "hr_2.sqlite"),
        os.path.join(folder, "linked.sqlite"),
    ]
    assert resolve_db_paths("hr", root)[0] == os.path.join(folder, "hr.sqlite")
    r = RewardComputer(RewardConfig(baseline="arctic"), engine=engine, db_root=root).compute_reward(
        PRED, {"sql": GOLD, "db_id": "hr"}
    )
    assert r.details["status"] == "ok" and r.breakdown["correct"] == 0.0  # the variant tells them apart


def test_a_missing_main_file_is_named_so_the_sample_is_db_missing(root, engine):
    folder = os.path.join(root, "hr")
    _stray(folder)
    os.remove(os.path.join(folder, "hr.sqlite"))
    assert resolve_db_paths("hr", root) == [os.path.join(folder, "hr.sqlite")]
    r = RewardComputer(RewardConfig(baseline="arctic"), engine=engine, db_root=root).compute_reward(
        PRED, {"sql": GOLD, "db_id": "hr"}
    )
    assert r.details["status"] == "db_missing"


@pytest.mark.parametrize("db_id", ["../hr", "hr/../hr", "/etc/passwd"])
def test_a_db_id_that_is_not_a_name_is_refused_and_named_as_such(root, engine, db_id):
    assert resolve_db_paths(db_id, root) == []
    r = RewardComputer(RewardConfig(baseline="arctic"), engine=engine, db_root=root).compute_reward(
        PRED, {"sql": GOLD, "db_id": db_id}
    )
    assert r.details["status"] == "db_missing" and r.total == 0.0
    assert r.details["error"] == f"db_id {db_id!r} is not a database name"


def test_a_db_id_without_a_db_root_says_that_the_root_is_missing(engine):
    r = RewardComputer(RewardConfig(baseline="arctic"), engine=engine).compute_reward(
        PRED, {"sql": GOLD, "db_id": "hr"}
    )
    assert r.details["status"] == "db_missing" and r.details["error"] == "db_id given but no db_root configured"
