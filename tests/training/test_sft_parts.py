"""An SFT step in parts has the loss and gradient of the whole step (less memory, same training)."""

from __future__ import annotations

import pytest

from tests.conftest import require

torch = require("torch")
require("transformers")


def test_a_step_in_parts_matches_the_whole_step():
    from extensions.training.data import demo_rows
    from extensions.training.sft import answer_loss, backward_in_parts, collate, encode_answer
    from extensions.training.tiny import build_tiny_model, build_tokenizer

    tok = build_tokenizer()
    model = build_tiny_model(tok, seed=0)
    rows = [encode_answer(tok, r, lambda sql: sql) for r in demo_rows("compact")[0][:6]]  # lengths differ

    def grads():
        return [p.grad.clone() for p in model.parameters() if p.grad is not None]

    whole = answer_loss(model, collate(rows, tok.pad_token_id, "cpu"))
    whole.backward()
    g_whole = grads()
    model.zero_grad()
    parts = [collate(rows[i : i + 2], tok.pad_token_id, "cpu") for i in range(0, 6, 2)]
    loss = backward_in_parts(model, parts)
    assert loss == pytest.approx(float(whole), rel=1e-5)
    for a, b in zip(g_whole, grads()):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


def _tool_setup(demo_dir, engine, n=12):
    """The tiny tool model, its tokenizer and the multi-turn rows of the first ``n`` demo questions."""
    from extensions.config import load_config
    from extensions.training.data import demo_rows
    from extensions.training.multiturn import mt_rows, tiny_sizes, tiny_tool_policy

    cfg = tiny_sizes(load_config("configs/demo_cpu.yaml"))
    rows = mt_rows(demo_rows("compact")[0][:n], cfg.multi_turn.max_calls)
    model, tok = tiny_tool_policy(rows, cfg, engine, seed=0)
    return model, tok, rows, cfg.multi_turn.tool_limits()


def test_the_loss_on_transcripts_is_the_causal_lm_loss_over_their_assistant_turns(demo_dir, engine, monkeypatch):
    """Several labelled spans per example, left-padded: the same loss as the model's own on right-padded rows."""
    from extensions.training.sft import answer_loss, collate
    from extensions.training.tool_sft import encode_transcripts

    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    model, tok, rows, limits = _tool_setup(demo_dir, engine, n=4)
    encoded = encode_transcripts(tok, rows, limits, engine)
    assert all(sum(1 for a, b in zip(la, la[1:]) if a == -100 and b != -100) >= 3 for _, la in encoded)  # 3 turns
    n = max(len(ids) for ids, _ in encoded)
    pad = tok.pad_token_id
    ids = torch.tensor([i + [pad] * (n - len(i)) for i, _ in encoded])
    labels = torch.tensor([la + [-100] * (n - len(la)) for _, la in encoded])
    with torch.no_grad():
        reference = model(input_ids=ids, attention_mask=(ids != pad) | (labels != -100), labels=labels).loss
        ours = answer_loss(model, collate(encoded, pad, "cpu"))
    assert float(ours) == pytest.approx(float(reference), rel=1e-5)


def test_both_warm_ups_run_the_one_sft_loop(demo_dir, engine, monkeypatch, tmp_path):
    """tool_sft and sft_warmup only encode: the loop on their encoded examples gives the same losses and weights."""
    import copy

    from extensions.training.data import gold_completion
    from extensions.training.sft import encode_answer, sft_warmup, train_sft
    from extensions.training.tool_sft import encode_transcripts, tool_sft

    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    model, tok, rows, limits = _tool_setup(demo_dir, engine, n=6)
    kw = {"lr": 5e-3, "batch": 2, "out_dir": str(tmp_path), "seed": 3}
    for warm_up, encoded in (
        (
            lambda m: tool_sft(m, tok, rows, 2, limits=limits, engine=engine, **kw),
            encode_transcripts(tok, rows, limits, engine),
        ),
        (lambda m: sft_warmup(m, tok, rows, 2, **kw), [encode_answer(tok, r, gold_completion) for r in rows]),
    ):
        a, b = copy.deepcopy(model), copy.deepcopy(model)
        losses = warm_up(a)
        assert losses == train_sft(b, encoded, 2, pad_id=tok.pad_token_id, **kw)
        assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
