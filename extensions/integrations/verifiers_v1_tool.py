"""verifiers 0.4 (``verifiers.v1``) multi-turn: the ``execute_sql`` tool as a ``Toolset``, and a taskset using it.

:class:`SqlToolset` is an MCP ``Toolset`` launched per rollout; ``setup_task`` opens a
:class:`~extensions.tool.sql_tool.SqlSession` on the task's database (from its ground truth, of which it
keeps only the database), and its ``@vf.tool`` ``execute_sql`` answers the model. The rollout state
(:class:`SqlToolState`) counts calls and errors; :class:`SqlToolTask` scores the final reply (the last
assistant message, its reasoning put back, as on verl and TRL: :func:`extensions.rewards.episode.final_answer`)
with :func:`extensions.rewards.episode.score_episode` and records ``tool_calls``, ``tool_errors`` and
``tool_budget_spent`` as metrics. Only importable where verifiers >= 0.4 is installed.

The MCP server validates a call's arguments against the tool's signature before the tool runs; ``query``
is declared a string with a default, and accepts any value, so that a malformed call (no ``query``,
another name, a number) reaches the tool and is counted as a failed call, as on verl and TRL. Its
schema therefore shows ``query`` as an optional string (verl and TRL mark it required).

    from extensions.integrations.verifiers_v1_tool import load_tool_taskset
    taskset = load_tool_taskset(dataset="data/verl/train.parquet")   # an SqlToolTaskset
"""

# No ``from __future__ import annotations``: the MCP server reads ``execute_sql``'s annotations as objects
# (it resolves string annotations in verifiers' namespace, where ``_Query`` does not exist).
import asyncio
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

import verifiers.v1 as vf
from pydantic import WithJsonSchema

from extensions.config import load_config
from extensions.data.layout import parse_ground_truth
from extensions.integrations.rows import sql_rows
from extensions.integrations.verifiers_v1 import (
    SqlTaskConfig,
    SqlTaskData,
    SqlTasksetConfig,
    breakdown_cache,
)
from extensions.rewards.episode import EPISODE_KEYS, EpisodeStats, score_episode
from extensions.tool.prompt import QUERY_DESCRIPTION, multi_turn_prompt
from extensions.tool.sql_tool import SqlSession

# Any value passes validation (so that a malformed call reaches the tool); the schema says "a string".
_Query = Annotated[Any, WithJsonSchema({"type": "string", "description": QUERY_DESCRIPTION})]

__all__ = ["SqlToolState", "SqlToolTask", "SqlToolTaskset", "SqlToolset", "load_tool_taskset"]


class SqlToolState(vf.State):
    """The rollout's tool use, shared between the toolset and the task."""

    tool_calls: int = 0
    tool_errors: int = 0
    tool_budget_spent: bool = False


class SqlToolsetConfig(vf.ToolsetConfig):
    """Our YAML config and overrides (the ``multi_turn`` and ``execution`` sections bound the tool)."""

    reward_config: str | None = None
    overrides: list[str] = []


class SqlToolset(vf.Toolset[SqlToolsetConfig, SqlToolState]):
    """``execute_sql`` on the task's database, with the ``multi_turn.max_calls`` budget."""

    TOOL_PREFIX = None  # advertised as ``execute_sql``

    def __init__(self, config: SqlToolsetConfig) -> None:
        super().__init__(config)
        cfg = load_config(config.reward_config, overrides=list(config.overrides))
        self._limits, self._db_root = cfg.multi_turn.tool_limits(), cfg.data.db_root
        self._session = SqlSession(None, self._limits)

    async def setup_task(self, task: "SqlTaskData | SqlToolTask") -> None:
        """Open the episode on the task's database (the gold query is not kept).

        verifiers hands a launched tool server the rollout's task data; a task works too.
        """
        data = getattr(task, "data", task)
        gt = parse_ground_truth(getattr(data, "answer", None), db_root=self._db_root)
        self._session = SqlSession(gt.db_path, self._limits)

    @vf.tool
    async def execute_sql(self, query: _Query = None) -> str:
        """Run one read-only SQL query (SQLite) on the question's database and see its columns and first rows."""
        answer = await self._session.execute_sql_async(query)
        s = self.state
        s.tool_calls, s.tool_errors = self._session.calls, self._session.errors
        s.tool_budget_spent = self._session.budget_spent
        return answer


class SqlToolTask(vf.Task[SqlTaskData, SqlToolState, SqlTaskConfig]):
    """A text-to-SQL question answered with the tool; scored by execution, tool use recorded."""

    @classmethod
    def toolsets(cls, config: SqlTaskConfig) -> list[vf.Toolset]:
        """One :class:`SqlToolset` per rollout, configured like the task's reward."""
        return [SqlToolset(SqlToolsetConfig(reward_config=config.reward_config, overrides=list(config.overrides)))]

    async def _episode(self, trace: vf.Trace) -> dict[str, float]:
        cache = breakdown_cache(self.config)
        cfg = load_config(self.config.reward_config, overrides=list(self.config.overrides)).multi_turn
        state = trace.state
        stats = EpisodeStats(
            getattr(state, "tool_calls", 0),
            getattr(state, "tool_errors", 0),
            bool(getattr(state, "tool_budget_spent", False)),
        )
        replies = [m.model_dump() for m in trace.assistant_messages]
        completion = replies if replies else (trace.last_reply or "")
        return await asyncio.to_thread(score_episode, cache.computer, completion, self.data.answer, stats, cfg)

    @vf.reward(weight=1.0)
    async def sql_reward(self, trace: vf.Trace) -> float:
        """Our total for the final reply, with the optional multi-turn terms."""
        return (await self._episode(trace))["score"]

    @vf.metric
    async def tool_use(self, trace: vf.Trace) -> dict[str, float]:
        """``tool_calls``, ``tool_errors``, ``tool_budget_spent``, ``multi_turn_penalty`` and ``acc``."""
        b = await self._episode(trace)
        return {k: b[k] for k in (*EPISODE_KEYS, "acc")}


class SqlToolTaskset(vf.Taskset[SqlToolTask, SqlTasksetConfig]):
    """Text-to-SQL tasks whose prompts name the tool (the demo set, a prepared parquet file or Spider)."""

    def load(self) -> Iterator[SqlToolTask]:
        breakdown_cache(self.config.task)  # a config mistake raises before any row is read
        cfg = load_config(self.config.task.reward_config, overrides=list(self.config.task.overrides))
        rows = sql_rows(
            self.config.dataset,
            split=self.config.split,
            style=cfg.data.prompt_style,
            max_examples=self.config.max_examples,
        )
        for i, r in enumerate(rows):
            prompt = multi_turn_prompt(r["prompt"], max_calls=cfg.multi_turn.max_calls)
            yield SqlToolTask(
                SqlTaskData(id=f"{r['db_id']}-{i}", prompt=prompt, answer=r["answer"], db_id=r["db_id"]),
                self.config.task,
            )


def load_tool_taskset(
    config: str | None = None, dataset: str | None = None, overrides: Sequence[str] = (), **fields: object
) -> SqlToolTaskset:
    """An :class:`SqlToolTaskset` over ``dataset``; the config is checked at once.

    Args:
        config: our YAML config (else ``$EXTENSIONS_CONFIG``, else defaults).
        dataset: ``None``/``"demo"``, a prepared parquet file or folder, or a Spider folder.
        overrides: ``section.key=value`` config overrides.
        **fields: other ``SqlTasksetConfig`` fields (``split``, ``max_examples``).

    Returns:
        The taskset.

    Raises:
        ConfigError: the config cannot be built.
    """
    task = SqlTaskConfig(reward_config=config, overrides=list(overrides))
    breakdown_cache(task)
    return SqlToolTaskset(SqlTasksetConfig(id=__name__, task=task, dataset=dataset, **fields))
