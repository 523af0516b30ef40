"""The tiny offline model (moved to :mod:`extensions.training.tiny`; these names stay importable here)."""

from extensions.training.tiny import build_tiny_model, build_tokenizer, corpus

__all__ = ["build_tiny_model", "build_tokenizer", "corpus"]
