"""Checkpoints: save, resume, keep the best k.

Works on the ``checkpoint-<step>`` folders that ``transformers.Trainer`` (and
so TRL) writes: each gets a ``extensions_meta.json`` with the step and the
score it was judged by (mean total reward); :meth:`CheckpointManager.prune`
keeps the best ``keep_best_k`` plus the latest (needed for ``--resume``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass

META = "extensions_meta.json"
_CKPT = re.compile(r"^checkpoint-(\d+)$")


@dataclass(frozen=True)
class Checkpoint:
    path: str
    step: int
    score: float | None


class CheckpointManager:
    def __init__(self, output_dir: str, keep_best_k: int = 2) -> None:
        if keep_best_k < 1:
            raise ValueError("keep_best_k must be >= 1")
        self.output_dir = output_dir
        self.keep_best_k = keep_best_k

    def list(self) -> list[Checkpoint]:
        if not os.path.isdir(self.output_dir):
            return []
        out = []
        for name in os.listdir(self.output_dir):
            m = _CKPT.match(name)
            path = os.path.join(self.output_dir, name)
            if not m or not os.path.isdir(path):
                continue
            score = None
            meta = os.path.join(path, META)
            if os.path.exists(meta):
                with open(meta) as fh:
                    score = json.load(fh).get("score")
            out.append(Checkpoint(path, int(m.group(1)), score))
        return sorted(out, key=lambda c: c.step)

    def latest(self) -> Checkpoint | None:
        cks = self.list()
        return cks[-1] if cks else None

    def best(self) -> Checkpoint | None:
        scored = [c for c in self.list() if c.score is not None]
        return max(scored, key=lambda c: (c.score, c.step)) if scored else None

    def record(self, step: int, score: float | None) -> str | None:
        """Attach ``score`` to the checkpoint of ``step`` (if it exists)."""
        path = os.path.join(self.output_dir, f"checkpoint-{step}")
        if not os.path.isdir(path):
            return None
        with open(os.path.join(path, META), "w") as fh:
            json.dump({"step": step, "score": score}, fh)
        return path

    def prune(self) -> list[str]:
        """Delete all but the best ``keep_best_k`` (by score) and the latest checkpoint."""
        cks = self.list()
        if not cks:
            return []
        keep = {cks[-1].path}
        scored = sorted((c for c in cks if c.score is not None), key=lambda c: (c.score, c.step), reverse=True)
        keep |= {c.path for c in scored[: self.keep_best_k]}
        removed = []
        for c in cks:
            if c.path not in keep:
                shutil.rmtree(c.path, ignore_errors=True)
                removed.append(c.path)
        return removed

    def save(self, model: object, tokenizer: object, step: int, score: float | None = None) -> str:
        """Save a model/adapter and tokenizer as ``checkpoint-<step>`` and prune."""
        path = os.path.join(self.output_dir, f"checkpoint-{step}")
        os.makedirs(path, exist_ok=True)
        model.save_pretrained(path)  # type: ignore[attr-defined]
        if tokenizer is not None:
            tokenizer.save_pretrained(path)  # type: ignore[attr-defined]
        self.record(step, score)
        self.prune()
        return path
