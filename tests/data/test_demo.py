"""The demo's questions: read from the packaged demo_questions.yaml, expanded to a pinned dataset."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import sqlite3
from contextlib import closing
from importlib import resources

import pytest
import tomllib

import extensions.data.demo as demo
from extensions.data.demo import NAME_ROWS, SlotTemplate, demo_examples, questions_file, slot_examples
from extensions.errors import DataError
from tests.conftest import ROOT

# sha256 of the canonical JSON of demo_examples() + slot_examples(). It was taken from the question data as
# code, before the data moved to demo_questions.yaml; a change to the file or to its expansion changes it.
DATASET_SHA256 = "3b84b8a79c1348ae3550465decfddac516073c8c1a9cace25a0f53db2cf4381d"


def _canonical_sha256(examples: list[dict]) -> str:
    text = json.dumps(examples, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture
def fresh_questions():
    """Reads the question file anew in the test and again after it (the parsed file is cached per process)."""
    demo._questions.cache_clear()
    yield
    demo._questions.cache_clear()


def test_the_demo_dataset_is_pinned():
    examples, slots = demo_examples(), slot_examples()
    assert (len(examples), len(slots)) == (305, 412)
    assert [e["db_id"] for e in examples[:1] + examples[-1:]] == ["hr", "flights"]
    assert _canonical_sha256(examples + slots) == DATASET_SHA256


def test_every_call_returns_fresh_dicts():
    first = demo_examples()
    first[0]["question"] = "changed"
    assert demo_examples()[0]["question"] == "How many employees are there?"


def test_the_question_file_is_read_from_the_package_through_importlib_resources(tmp_path, monkeypatch, fresh_questions):
    path = questions_file()
    assert path == resources.files("extensions.data").joinpath("demo_questions.yaml") and path.is_file()
    assert os.path.dirname(str(path)) == os.path.dirname(demo.__file__)
    # The examples come from that file: an edited copy in its place changes them.
    edited = tmp_path / "demo_questions.yaml"
    edited.write_text(path.read_text(encoding="utf-8").replace("How many employees are there?", "Headcount?"))
    monkeypatch.setattr(demo, "questions_file", lambda: edited)
    assert demo_examples()[0]["question"] == "Headcount?"


def test_the_wheel_ships_the_question_file():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["extensions"]
    assert any(fnmatch.fnmatch("data/demo_questions.yaml", p) for p in patterns)
    assert (ROOT / "extensions" / "data" / "demo_questions.yaml").is_file()


def test_slot_templates_are_read_on_first_use():
    from extensions.data.demo import SLOT_TEMPLATES

    assert all(isinstance(t, SlotTemplate) and isinstance(t.values, (range, list)) for t in SLOT_TEMPLATES)
    assert [e["template"] for e in slot_examples()][-1] == len(SLOT_TEMPLATES) - 1
    with pytest.raises(AttributeError, match="NO_SUCH_NAME"):
        demo.NO_SUCH_NAME  # noqa: B018


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ({"names": "titles", "each": {"k": [1]}, "pairs": []}, "one of names"),
        ({"each": {"k": [1]}, "first": 1, "pairs": []}, "one of names"),
        ({"names": "titles", "pair": []}, "one of names"),
        ({"names": "planets", "pairs": []}, "'planets' is not one of"),
        ({"each": {"k": [1], "j": [2]}, "pairs": []}, "each names one slot"),
        ({"each": {"k": {"from": 1}}, "pairs": []}, "slot values are a list"),
        ({"each": {"k": [1]}, "pairs": [{"q": "{j}?", "sql": "SELECT {j}"}]}, "does not fit the row"),
    ],
)
def test_a_malformed_templated_group_is_a_data_error(group, message):
    with pytest.raises(DataError, match=message):
        demo._expand_group(group)


def test_a_question_file_of_another_version_is_a_data_error(tmp_path, monkeypatch, fresh_questions):
    other = tmp_path / "demo_questions.yaml"
    other.write_text("version: 2\n")
    monkeypatch.setattr(demo, "questions_file", lambda: other)
    with pytest.raises(DataError, match="version: 1"):
        demo_examples()


def test_the_airlines_with_flights_are_those_the_flights_table_names(demo_paths):
    with closing(sqlite3.connect(demo_paths["flights"])) as c:
        names = c.execute(
            "SELECT name FROM airlines WHERE airline_id IN (SELECT airline_id FROM flights) ORDER BY airline_id"
        ).fetchall()
    assert [n for (n,) in names] == [r["airline"] for r in NAME_ROWS["airlines_with_flights"]]
