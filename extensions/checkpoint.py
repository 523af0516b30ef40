"""Checkpoints (moved to :mod:`extensions.training.checkpoint`; these names stay importable here)."""

from extensions.training.checkpoint import META, Checkpoint, CheckpointManager

__all__ = ["META", "Checkpoint", "CheckpointManager"]
