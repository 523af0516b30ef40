"""Per-component reward logging, GPU memory tracking and reward-curve plots.

:class:`MetricsLogger` appends one JSON line per optimizer step to
``metrics.jsonl`` with every reward component, KL, loss and step time;
:func:`plot_metrics` draws the reward components over steps into a PNG.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Mapping
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


def plot_metrics(metrics_path: str, png_path: str, *, prefix: str = "rewards/", extra: Iterable[str] = ("kl", "loss")) -> str:
    """Plot every ``rewards/*/mean`` series (and KL, loss) over steps; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(metrics_path)
    steps = [r["step"] for r in rows]
    reward_keys = sorted({k for r in rows for k in r if k.startswith(prefix) and k.endswith("/mean")})
    other = [k for k in extra if any(k in r for r in rows)]
    fig, axes = plt.subplots(1, 1 + bool(other), figsize=(11 if other else 7, 4), squeeze=False)
    ax = axes[0][0]
    for k in reward_keys:
        ax.plot(steps, [r.get(k) for r in rows], marker="o", ms=3, label=k[len(prefix):-len("/mean")])
    ax.set_xlabel("step")
    ax.set_ylabel("mean reward")
    ax.set_title("reward components")
    ax.legend(fontsize=7)
    if other:
        ax2 = axes[0][1]
        for k in other:
            ax2.plot(steps, [r.get(k) for r in rows], marker="o", ms=3, label=k)
        ax2.set_xlabel("step")
        ax2.set_title("KL and loss")
        ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return png_path
