"""A verifiers 0.4 (``verifiers.v1``) taskset: each task scores its rollout with our reward.

The task's ``@reward`` ``sql_reward`` is our total; its ``@metric`` ``sql_breakdown`` records every
other breakdown component (``acc``, ``baseline``, ``schema``, ``structural``, ``syntax``, ``status_*``,
...) as its own metric. The breakdown is computed once per rollout through the shared
:class:`~extensions.integrations.breakdown_cache.BreakdownCache`, in a thread (the event loop never
blocks on SQLite). Only importable where verifiers >= 0.4 is installed.

    import extensions.integrations.verifiers as sqlenv
    taskset = sqlenv.load_environment(dataset="data/verl/train.parquet")   # an SqlTaskset

verifiers loads tasksets by the id of a top-level module whose ``__all__`` names one Taskset: a file
``sql_taskset.py`` holding ``from extensions.integrations.verifiers_v1 import SqlTaskset`` and
``__all__ = ["SqlTaskset"]`` makes ``--env.taskset.id sql_taskset`` work (vf-eval, prime-rl).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

import verifiers.v1 as vf

from extensions._util.forksafe import ForkSafeLock
from extensions.config import load_config
from extensions.integrations.breakdown_cache import BreakdownCache
from extensions.integrations.rows import sql_rows
from extensions.rewards.combine import RewardComputer

__all__ = ["SqlTaskset", "load_taskset"]

_lock = ForkSafeLock()
_caches: dict[tuple[str | None, tuple[str, ...]], BreakdownCache] = {}


class SqlTaskData(vf.TaskData):
    """One question: the chat prompt (``prompt``), the JSON ground truth and the database id."""

    answer: str = ""
    db_id: str = ""


class SqlTaskConfig(vf.TaskConfig):
    """How tasks score: our YAML config and ``section.key=value`` overrides (``--env.taskset.task.*``)."""

    reward_config: str | None = None
    overrides: list[str] = []


def breakdown_cache(config: SqlTaskConfig) -> BreakdownCache:
    """The process-wide breakdown cache for ``config`` (the computer is built once).

    Args:
        config: the task config naming our YAML config and overrides.

    Returns:
        The shared cache.

    Raises:
        ConfigError: the config cannot be built; the message names the key.
    """
    key = (config.reward_config, tuple(config.overrides))
    with _lock:
        cache = _caches.get(key)
        if cache is None:
            computer = RewardComputer(load_config(config.reward_config, overrides=list(config.overrides)))
            cache = _caches[key] = BreakdownCache(computer)
    return cache


class SqlTask(vf.Task[SqlTaskData, vf.State, SqlTaskConfig]):
    """A text-to-SQL question whose rollout is scored by execution against its database."""

    async def _breakdown(self, trace: vf.Trace) -> dict[str, float]:
        cache = breakdown_cache(self.config)
        return (await asyncio.to_thread(cache.breakdowns, [trace.last_reply], [self.data.answer]))[0]

    @vf.reward(weight=1.0)
    async def sql_reward(self, trace: vf.Trace) -> float:
        """Our total reward."""
        return (await self._breakdown(trace))["score"]

    @vf.metric
    async def sql_breakdown(self, trace: vf.Trace) -> dict[str, float]:
        """Every breakdown component but the total, each recorded as a metric."""
        return {k: v for k, v in (await self._breakdown(trace)).items() if k != "score"}


class SqlTasksetConfig(vf.TasksetConfig):
    """Which rows load (``--env.taskset.*``): see :func:`extensions.integrations.rows.sql_rows`."""

    task: SqlTaskConfig = SqlTaskConfig()
    dataset: str | None = None
    split: str = "train"
    max_examples: int | None = None


class SqlTaskset(vf.Taskset[SqlTask, SqlTasksetConfig]):
    """Text-to-SQL tasks from the demo set, a prepared parquet file or a Spider folder."""

    def load(self) -> Iterator[SqlTask]:
        breakdown_cache(self.config.task)  # a config mistake raises before any row is read
        style = load_config(
            self.config.task.reward_config, overrides=list(self.config.task.overrides)
        ).data.prompt_style
        rows = sql_rows(
            self.config.dataset, split=self.config.split, style=style, max_examples=self.config.max_examples
        )
        for i, r in enumerate(rows):
            data = SqlTaskData(id=f"{r['db_id']}-{i}", prompt=r["prompt"], answer=r["answer"], db_id=r["db_id"])
            yield SqlTask(data, self.config.task)


def load_taskset(
    config: str | None = None, dataset: str | None = None, overrides: Sequence[str] = (), **fields: object
) -> SqlTaskset:
    """An :class:`SqlTaskset` over ``dataset``; the config is checked at once.

    Args:
        config: our YAML config (else ``$EXTENSIONS_CONFIG``, else defaults).
        dataset: ``None``/``"demo"``, a prepared parquet file or folder, or a Spider folder.
        overrides: ``section.key=value`` config overrides.
        **fields: other :class:`SqlTasksetConfig` fields (``split``, ``max_examples``).

    Returns:
        The taskset (iterate it, or ``.take(n)``, for tasks).

    Raises:
        ConfigError: the config cannot be built.
    """
    task = SqlTaskConfig(reward_config=config, overrides=list(overrides))
    breakdown_cache(task)
    return SqlTaskset(SqlTasksetConfig(id=__name__, task=task, dataset=dataset, **fields))
