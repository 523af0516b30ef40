"""verl 0.9 tool: ``SQLTool``, a ``verl.tools.base_tool.BaseTool`` that runs the model's SQL in our sandbox.

``configs/verl_sql_tool.yaml`` declares it; ``verl.tools.tool_registry.initialize_tools_from_config`` loads
it as is. Set ``actor_rollout_ref.rollout.multi_turn.tool_config_path`` to that file (``verl_launch
--multi-turn`` does). Each sample's ``extra_info.tools_kwargs`` (``python -m extensions.data prepare
--multi-turn``) names its database: ``{"execute_sql": {"create_kwargs": {"db_path": ..., "db_id": ...}}}``.

The tool's ``config`` (the YAML's ``config:`` block) takes ``config`` (our YAML; else ``$EXTENSIONS_CONFIG``),
``overrides`` (``section.key=value`` items) and ``db_root``; the limits come from that config's
``multi_turn`` section and the engine from its ``execution`` section, as the reward's.

verl's tool agent loop creates, runs and releases an instance for every call, so the episode's budget
and counters live in the rollout's ``agent_data.extra_fields`` (``tool_calls``, ``tool_errors``,
``tool_budget_spent``); verl hands them to the reward as ``extra_info``, where
:func:`extensions.integrations.verl.episode.compute_score` logs them. Called without ``agent_data``, the
budget is the instance's own. Importing this module imports verl.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from uuid import uuid4

from verl.tools.base_tool import BaseTool
from verl.tools.schemas import OpenAIFunctionToolSchema, ToolResponse

from extensions.config import Config, load_config
from extensions.data.layout import parse_ground_truth
from extensions.execution.engine import ExecutionEngine, shared_engine
from extensions.rewards.episode import EpisodeStats
from extensions.tool.prompt import openai_tool_schema
from extensions.tool.sql_tool import SqlSession, budget_spent_text, error_text, run_query

__all__ = ["SQLTool"]

_MAX_SESSIONS = 65536


def _overrides(value: Any) -> list[str]:
    if isinstance(value, str):
        return [o.strip() for o in value.split(",") if o.strip()]
    return [str(o) for o in value or ()]


def _db_path(create_kwargs: Mapping[str, Any], db_root: str | None) -> str | None:
    """The database named by ``create_kwargs`` (``db_path``, else ``db_id`` under ``db_root``); never the gold."""
    path = create_kwargs.get("db_path")
    if isinstance(path, str) and path:
        return path
    db_id = create_kwargs.get("db_id")
    if not db_id:
        return None
    return parse_ground_truth({"sql": "SELECT 1", "db_id": str(db_id)}, db_root=db_root).db_path


class SQLTool(BaseTool):
    """``execute_sql(query)`` for verl's tool agent loop.

    Args:
        config: the YAML's ``config:`` block (``type: native``; optional ``config``, ``overrides``, ``db_root``).
        tool_schema: the OpenAI schema (default: :func:`extensions.tool.prompt.openai_tool_schema`).

    Raises:
        ConfigError: our configuration cannot be built; the message names the key.
    """

    def __init__(self, config: dict, tool_schema: OpenAIFunctionToolSchema | None = None) -> None:
        config = dict(config or {})
        cfg: Config = load_config(config.get("config") or None, overrides=_overrides(config.get("overrides")))
        self.limits = cfg.multi_turn.tool_limits()
        self.db_root = config.get("db_root") or cfg.data.db_root
        self._settings = cfg.execution.engine_settings()
        self._engine: ExecutionEngine | None = None
        self._sessions: dict[str, SqlSession] = {}
        schema = tool_schema or OpenAIFunctionToolSchema.model_validate(openai_tool_schema())
        super().__init__(config, schema)

    @property
    def engine(self) -> ExecutionEngine:
        """The process's shared engine for the configured settings (started on first use)."""
        if self._engine is None or self._engine.pool.closed:
            self._engine = shared_engine(self._settings)
        return self._engine

    async def create(self, instance_id: str | None = None, **kwargs: Any) -> tuple[str, ToolResponse]:
        """Start an instance on the sample's database.

        Args:
            instance_id: the id to use (a new one when None).
            **kwargs: ``create_kwargs={"db_path"|"db_id": ...}`` as verl passes it, or those keys directly.

        Returns:
            The instance id and an empty response.
        """
        ck = kwargs.get("create_kwargs")
        ck = ck if isinstance(ck, Mapping) else kwargs
        iid = instance_id or uuid4().hex
        if len(self._sessions) >= _MAX_SESSIONS:  # instances never released: forget the oldest
            self._sessions.pop(next(iter(self._sessions)))
        self._sessions[iid] = SqlSession(_db_path(ck, self.db_root), self.limits, self.engine)
        return iid, ToolResponse()

    async def execute(
        self, instance_id: str, parameters: dict[str, Any], **kwargs: Any
    ) -> tuple[ToolResponse, float, dict]:
        """Run ``parameters["query"]``; never raises.

        Args:
            instance_id: an id from :meth:`create`.
            parameters: ``{"query": "SELECT ..."}``.
            **kwargs: verl's ``agent_data`` (the episode's budget lives in its ``extra_fields``).

        Returns:
            ``(ToolResponse(text=table or error), 0.0, {"tool_calls", "tool_errors", "tool_budget_spent"})``.
        """
        session = self._sessions.get(instance_id)
        if session is None:
            return (
                ToolResponse(text=error_text("unknown tool instance; call create first", self.limits.max_chars)),
                0.0,
                {},
            )
        query = parameters.get("query") if isinstance(parameters, Mapping) else None
        fields = getattr(kwargs.get("agent_data"), "extra_fields", None)
        if not isinstance(fields, dict):
            text = await session.execute_sql_async(query)
            return ToolResponse(text=text), 0.0, session.metrics()
        return await self._execute_in_episode(session, query, fields)

    async def _execute_in_episode(
        self, session: SqlSession, query: Any, fields: dict
    ) -> tuple[ToolResponse, float, dict]:
        """One call counted in the rollout's ``extra_fields`` (checked and counted before any await)."""
        stats = EpisodeStats.from_mapping(fields)
        n = self.limits.max_calls
        if stats.calls >= n:
            fields["tool_budget_spent"] = 1
            text = budget_spent_text(self.limits)
        else:
            fields["tool_calls"] = stats.calls + 1
            fields["tool_budget_spent"] = int(stats.calls + 1 >= n)
            fields.setdefault("tool_errors", 0)
            answer = await asyncio.to_thread(run_query, session.db_path, query, self.limits, session.engine)
            if not answer.ok:
                fields["tool_errors"] = EpisodeStats.from_mapping(fields).errors + 1
            text = answer.text
        now = EpisodeStats.from_mapping(fields)
        return (
            ToolResponse(text=text),
            0.0,
            {"tool_calls": now.calls, "tool_errors": now.errors, "tool_budget_spent": int(now.budget_spent)},
        )

    async def calc_reward(self, instance_id: str, **kwargs: Any) -> float:
        """No per-step reward: the episode is scored at its end."""
        return 0.0

    async def release(self, instance_id: str, **kwargs: Any) -> None:
        """Forget the instance (unknown ids are ignored)."""
        self._sessions.pop(instance_id, None)
