"""Trainer callbacks: one console progress bar, ``metrics.jsonl`` and checkpoint bookkeeping.

The console shows one bar with the step, total reward, execution match and KL (when measured, ``beta`` > 0);
every logged number goes to ``metrics.jsonl`` only.

>>> short({"rewards/sql_reward/mean": 0.5, "rewards/acc/mean": 0.25, "kl": 0.0})
{'reward': '0.500', 'exec': '0.250', 'kl': '0.0000'}
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from extensions.training.checkpoint import CheckpointManager
from extensions.training.metrics import MetricsLogger

REWARD_KEY = "rewards/sql_reward/mean"
EXEC_KEY = "rewards/acc/mean"


def short(logs: dict[str, Any]) -> dict[str, str]:
    """The few numbers the progress bar shows.

    Args:
        logs: one TRL log dict.

    Returns:
        ``reward``, ``exec`` and ``kl`` formatted (those present).
    """
    out = {}
    for name, key, fmt in (("reward", REWARD_KEY, "{:.3f}"), ("exec", EXEC_KEY, "{:.3f}"), ("kl", "kl", "{:.4f}")):
        if isinstance(logs.get(key), (int, float)):
            out[name] = fmt.format(logs[key])
    return out


class ProgressBar(TrainerCallback):
    """One tqdm bar for the GRPO steps, replacing the trainer's bar and its printed log dicts."""

    def __init__(self, desc: str = "grpo") -> None:
        self.desc = desc
        self.bar: Any = None

    def on_train_begin(self, args, state, control, **kw):  # noqa: ANN001, D102
        from tqdm import tqdm

        self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc=self.desc, dynamic_ncols=True)

    def on_step_end(self, args, state, control, **kw):  # noqa: ANN001, D102
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kw):  # noqa: ANN001, D102
        if self.bar is not None and logs:
            self.bar.set_postfix(short(logs), refresh=True)

    def on_train_end(self, args, state, control, **kw):  # noqa: ANN001, D102
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class MetricsCallback(TrainerCallback):
    """Every step's log dict to ``metrics.jsonl``; the mean total reward onto each saved checkpoint."""

    def __init__(self, out_dir: str, keep_best_k: int, resume: bool) -> None:
        self.logger = MetricsLogger(out_dir, resume=resume)
        self.ckpts = CheckpointManager(out_dir, keep_best_k)
        self.last_reward: float | None = None

    def on_log(self, args, state, control, logs=None, **kw):  # noqa: ANN001, D102
        if logs and any(k.startswith("rewards/") for k in logs):
            self.logger.log(state.global_step, dict(logs))  # no "kl" when beta == 0: TRL measures none
            self.last_reward = logs.get(REWARD_KEY, logs.get("reward"))

    def on_save(self, args, state, control, **kw):  # noqa: ANN001, D102
        self.ckpts.record(state.global_step, self.last_reward)
        self.ckpts.prune()


def quiet_console(trainer: Any, desc: str = "grpo") -> None:
    """Swap the trainer's own progress/printer callbacks for one :class:`ProgressBar`.

    Args:
        trainer: a ``transformers.Trainer`` (TRL's ``GRPOTrainer``).
        desc: the bar's label.
    """
    for cb in list(trainer.callback_handler.callbacks):
        if type(cb).__name__ in ("PrinterCallback", "ProgressCallback", "NotebookProgressCallback"):
            trainer.remove_callback(cb)
    trainer.add_callback(ProgressBar(desc))
