"""Recorders for the real-model runs: which checkpoints were loaded, and whether GRPO moved the trained weights.

They wrap the third-party entry points (``AutoModelForCausalLM.from_pretrained``, ``GRPOTrainer.train``), so the
tests check what a run did, whichever of our functions did it.
"""

from __future__ import annotations

from typing import Any

import pytest


def _trainable(model: Any) -> dict[str, Any]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


@pytest.fixture()
def loaded_models(monkeypatch) -> list[dict[str, Any]]:
    """Every model ``AutoModelForCausalLM.from_pretrained`` returns during the test: its path and size."""
    from transformers import AutoModelForCausalLM

    real = AutoModelForCausalLM.from_pretrained.__func__
    loads: list[dict[str, Any]] = []

    def from_pretrained(cls, *args: Any, **kwargs: Any) -> Any:
        model = real(cls, *args, **kwargs)
        loads.append({"path": str(model.name_or_path), "parameters": sum(p.numel() for p in model.parameters())})
        return model

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", classmethod(from_pretrained))
    return loads


@pytest.fixture()
def grpo_updates(monkeypatch) -> list[dict[str, Any]]:
    """One entry per ``GRPOTrainer.train`` call: how many trainable tensors it changed, out of how many."""
    from trl import GRPOTrainer

    real = GRPOTrainer.train
    updates: list[dict[str, Any]] = []

    def train(self: Any, *args: Any, **kwargs: Any) -> Any:
        before = _trainable(self.model)
        out = real(self, *args, **kwargs)
        after = _trainable(self.model)
        changed = [n for n, t in before.items() if n in after and not bool((after[n] == t).all())]
        updates.append({"trainable": len(before), "changed": len(changed), "names": sorted(before)[:3]})
        return out

    monkeypatch.setattr(GRPOTrainer, "train", train)
    return updates
