"""One GRPOConfig builder: single-turn and multi-turn runs share every setting but their own differences."""

from __future__ import annotations

from tests.conftest import require

require("trl")

from extensions.config import load_config  # noqa: E402 - after the dependency check
from extensions.training.grpo_config import grpo_config  # noqa: E402 - after the dependency check

SHARED = (
    "learning_rate",
    "weight_decay",
    "max_grad_norm",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "num_generations",
    "beta",
    "temperature",
    "reward_weights",
    "seed",
    "max_steps",
    "logging_steps",
)


def test_multi_turn_passes_only_its_differences(tmp_path):
    overrides = ["optimization.weight_decay=0.1", "optimization.max_grad_norm=0.5", "multi_turn.max_calls=3"]
    cfg = load_config("configs/demo_cpu.yaml", overrides=overrides, env=False)
    run = {"out_dir": str(tmp_path), "steps": 4, "seed": 1, "weights": [1.0, 0.5], "tiny": True}
    single = grpo_config(cfg, **run)
    multi = grpo_config(cfg, **run, max_completion=384, tool_calls=cfg.multi_turn.max_calls, checkpoints=False)
    assert {k: getattr(multi, k) for k in SHARED} == {k: getattr(single, k) for k in SHARED}
    assert (multi.weight_decay, multi.max_grad_norm, multi.per_device_train_batch_size) == (0.1, 0.5, 16)
    assert (multi.max_completion_length, multi.max_tool_calling_iterations, multi.save_strategy) == (384, 3, "no")
    assert (single.max_completion_length, single.save_strategy, single.save_steps) == (64, "steps", 4)
