"""Per-step metrics: ``metrics.jsonl`` (every logged number), GPU memory, reading it back.

:class:`MetricsLogger` appends one JSON line per logged optimizer step with every reward
component, KL, loss and step time.

>>> rolling_mean([0.0, 1.0, 0.0, 1.0], 2)
[0.0, 0.5, 0.5, 0.5]
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from typing import Any


def gpu_memory() -> dict[str, float]:
    """Peak and current CUDA memory in GiB; empty when CUDA is absent."""
    try:
        import torch
    except ImportError:
        return {}
    if not torch.cuda.is_available():
        return {}
    return {
        "gpu_mem_allocated_gb": torch.cuda.memory_allocated() / 2**30,
        "gpu_mem_peak_gb": torch.cuda.max_memory_allocated() / 2**30,
        "gpu_mem_reserved_gb": torch.cuda.memory_reserved() / 2**30,
    }


def _clean(v: Any) -> Any:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(float(v)) else None
    return v


class MetricsLogger:
    """Writes ``metrics.jsonl``: one line per step, always the same keys for a run."""

    def __init__(self, output_dir: str, *, filename: str = "metrics.jsonl", resume: bool = False) -> None:
        os.makedirs(output_dir, exist_ok=True)
        self.path = os.path.join(output_dir, filename)
        if not resume and os.path.exists(self.path):
            os.remove(self.path)
        self._last = time.perf_counter()

    def log(self, step: int, metrics: Mapping[str, Any]) -> dict[str, Any]:
        now = time.perf_counter()
        row: dict[str, Any] = {"step": int(step), "step_time_s": now - self._last}
        self._last = now
        row.update({k: _clean(v) for k, v in metrics.items() if isinstance(v, (int, float, bool))})
        row.update(gpu_memory())
        with open(self.path, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        return row


def read_metrics(path: str) -> list[dict[str, Any]]:
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def rolling_mean(values: list[float | None], window: int) -> list[float | None]:
    """Trailing mean over the last ``window`` non-missing values (None where there are none yet).

    Args:
        values: one value per step (None when missing).
        window: how many values to average.

    Returns:
        A list as long as ``values``.
    """
    out: list[float | None] = []
    seen: list[float] = []
    for v in values:
        if v is not None:
            seen.append(v)
        tail = seen[-window:]
        out.append(sum(tail) / len(tail) if tail else None)
    return out
