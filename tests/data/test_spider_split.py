"""The cross-database Spider split: the documented rule gives the fixed lists, and no database is on both sides."""

import collections

import pytest

from extensions.data.spider_split import (
    HELDOUT_DBS,
    TRAIN_DBS,
    SpiderExample,
    read_examples,
    split_databases,
    split_examples,
)


def test_the_lists_are_disjoint_and_sorted():
    assert not set(TRAIN_DBS) & set(HELDOUT_DBS)
    assert list(TRAIN_DBS) == sorted(TRAIN_DBS) and list(HELDOUT_DBS) == sorted(HELDOUT_DBS)


def test_the_rule_never_exceeds_the_share_and_is_order_free():
    counts = {f"db{i}": (i * 7) % 13 + 1 for i in range(30)}
    train, held = split_databases(counts, share=0.4)
    assert sum(counts[d] for d in held) <= 0.4 * sum(counts.values())
    assert sorted(train + held) == sorted(counts)
    assert split_databases(dict(reversed(list(counts.items()))), share=0.4) == (train, held)


def test_examples_go_to_their_databases_side():
    ex = [SpiderExample(db, "q", "SELECT 1", i) for i, db in enumerate([*TRAIN_DBS[:2], *HELDOUT_DBS[:3], "other"])]
    train, held = split_examples(ex)
    assert [e.db_id for e in train] == list(TRAIN_DBS[:2])
    assert [e.db_id for e in held] == list(HELDOUT_DBS[:3])


@pytest.mark.shared
def test_the_rule_on_spider_dev_gives_the_fixed_lists(spider_dev):
    examples = read_examples(str(spider_dev))
    counts = collections.Counter(e.db_id for e in examples)
    assert split_databases(counts) == (list(TRAIN_DBS), list(HELDOUT_DBS))
    train, held = split_examples(examples)
    assert (len(train), len(held)) == (592, 380)
    assert len(held) / len(examples) == pytest.approx(0.39, abs=0.02)
