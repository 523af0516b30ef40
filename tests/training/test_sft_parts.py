"""An SFT step in parts has the loss and gradient of the whole step (less memory, same training)."""

from __future__ import annotations

import pytest

from tests.conftest import require

torch = require("torch")
require("transformers")


def test_a_step_in_parts_matches_the_whole_step():
    from extensions.training.data import demo_rows
    from extensions.training.sft import _batch, answer_loss, backward_in_parts
    from extensions.training.tiny import build_tiny_model, build_tokenizer

    tok = build_tokenizer()
    model = build_tiny_model(tok, seed=0)
    rows = demo_rows("compact")[0][:6]  # prompts and answers of different lengths

    def grads():
        return [p.grad.clone() for p in model.parameters() if p.grad is not None]

    whole = answer_loss(model, _batch(tok, rows, "cpu", lambda sql: sql))
    whole.backward()
    g_whole = grads()
    model.zero_grad()
    parts = [_batch(tok, rows[i : i + 2], "cpu", lambda sql: sql) for i in range(0, 6, 2)]
    loss = backward_in_parts(model, parts)
    assert loss == pytest.approx(float(whole), rel=1e-5)
    for a, b in zip(g_whole, grads()):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)
