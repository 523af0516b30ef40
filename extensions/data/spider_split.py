"""The fixed cross-database split of Spider dev: training and held-out sides share no database.

The rule, applied to the 19 databases of ``../shared/spider_dev`` (972 questions): order the databases by
``sha1("spider-db-split-v1:" + db_id)`` and walk that order, putting a database on the held-out side when
its questions still fit in :data:`HELDOUT_SHARE` of all questions; every other database trains. The rule
gives :data:`HELDOUT_DBS` (9 databases, 380 questions) and :data:`TRAIN_DBS` (10 databases, 592 questions);
both lists are fixed here so that a changed file cannot move a database across silently.

>>> sorted(set(TRAIN_DBS) & set(HELDOUT_DBS))
[]
>>> split_databases({"a": 6, "b": 4}, share=0.4)
(['a'], ['b'])
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

SALT = "spider-db-split-v1:"
HELDOUT_SHARE = 0.4
HELDOUT_DBS = (
    "car_1",
    "concert_singer",
    "flight_2",
    "museum_visit",
    "network_1",
    "orchestra",
    "real_estate_properties",
    "singer",
    "voter_1",
)
TRAIN_DBS = (
    "battle_death",
    "course_teach",
    "cre_Doc_Template_Mgt",
    "dog_kennels",
    "employee_hire_evaluation",
    "pets_1",
    "poker_player",
    "student_transcripts_tracking",
    "tvshow",
    "world_1",
)


@dataclass(frozen=True)
class SpiderExample:
    """One Spider question: its database, question, gold SQL and position in ``dev.json``."""

    db_id: str
    question: str
    query: str
    index: int


def split_databases(counts: Mapping[str, int], share: float = HELDOUT_SHARE) -> tuple[list[str], list[str]]:
    """The rule of this module: ``(train_dbs, heldout_dbs)`` for questions per database.

    Args:
        counts: questions per database id.
        share: the largest share of all questions the held-out side may hold.

    Returns:
        Both sides, sorted by name; a database is on exactly one side.

    >>> split_databases({"x": 1}, share=0.0)
    (['x'], [])
    """
    total, held, n = sum(counts.values()), [], 0
    for db in sorted(counts, key=lambda d: hashlib.sha1((SALT + d).encode()).hexdigest()):
        if n + counts[db] <= share * total:
            held.append(db)
            n += counts[db]
    return sorted(set(counts) - set(held)), sorted(held)


def read_examples(spider_dir: str) -> list[SpiderExample]:
    """The questions of ``<spider_dir>/dev.json`` whose database file exists, in file order.

    Args:
        spider_dir: a Spider folder with ``dev.json`` and ``database/<db_id>/<db_id>.sqlite``.

    Returns:
        The examples.

    Raises:
        DataError: ``dev.json`` is missing or unreadable.
    """
    from extensions._util.nesting import json_loads_bounded
    from extensions.data.layout import db_file
    from extensions.errors import DataError

    path = os.path.join(spider_dir, "dev.json")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json_loads_bounded(fh.read(), max_depth=64)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read Spider questions {path}: {exc}") from None
    root = os.path.join(spider_dir, "database")
    return [
        SpiderExample(e["db_id"], e["question"], e["query"], int(e.get("index", i)))
        for i, e in enumerate(data)
        if os.path.exists(db_file(root, e["db_id"]))
    ]


def split_examples(examples: list[SpiderExample]) -> tuple[list[SpiderExample], list[SpiderExample]]:
    """``(train, heldout)`` examples by the fixed database lists.

    Args:
        examples: Spider examples (:func:`read_examples`).

    Returns:
        Both sides in input order; questions of a database on neither list are left out.

    >>> ex = [SpiderExample("singer", "q", "SELECT 1", 0), SpiderExample("pets_1", "q", "SELECT 1", 1)]
    >>> [len(side) for side in split_examples(ex)]
    [1, 1]
    """
    train = [e for e in examples if e.db_id in TRAIN_DBS]
    held = [e for e in examples if e.db_id in HELDOUT_DBS]
    return train, held
