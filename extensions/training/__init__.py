"""Training: the TRL GRPO runner, the tiny CPU model, checkpoints, metrics and plots, the ablation runner."""
