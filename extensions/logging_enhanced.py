"""Per-step metrics and plots (moved to :mod:`extensions.training`; these names stay importable here)."""

from extensions.training.metrics import MetricsLogger, gpu_memory, read_metrics
from extensions.training.plots import plot_metrics, plot_run

__all__ = ["MetricsLogger", "gpu_memory", "plot_metrics", "plot_run", "read_metrics"]
