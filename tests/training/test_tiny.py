"""The tiny toy's tokenizer: trained on the training split only, numbers spelled digit by digit."""

from __future__ import annotations

from tests.conftest import require

require("tokenizers")

from extensions.training.data import demo_rows  # noqa: E402 - after the dependency check
from extensions.training.tiny import build_tokenizer, corpus  # noqa: E402 - after the dependency check


def test_corpus_holds_no_heldout_question(demo_dir, monkeypatch):
    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    _, held = demo_rows("compact")
    text = set(corpus())
    questions = [r["prompt"][-1]["content"].split("\nQuestion: ", 1)[1] for r in held]
    assert questions and not [q for q in questions if f"Question: {q}" in text]


def test_numbers_are_single_digit_tokens(tmp_path):
    tok = build_tokenizer(out_dir=str(tmp_path / "tok"))
    pieces = tok.tokenize("WHERE salary > 85000")
    assert pieces[-5:] == ["8", "5", "0", "0", "0"]
