"""TRL 1.16 multi-turn: an ``environment_factory`` environment whose ``execute_sql`` method is the tool, and
the episode's reward functions.

    from trl import GRPOTrainer
    funcs, weights = make_episode_reward_funcs(computer, cfg.multi_turn)
    GRPOTrainer(..., reward_funcs=funcs, args=GRPOConfig(reward_weights=weights, ...),
                environment_factory=environment_factory(cfg.multi_turn.tool_limits()))

TRL makes one :class:`SqlEnvironment` per rollout and calls ``reset(**example)`` before generating; the
environment takes the sample's database from its ``ground_truth`` (``db_path``, or ``db_id`` under
``db_root``) and keeps nothing else of it, so its tool cannot reveal the gold. Every public method of the
class is a tool for TRL, so the class has exactly one: ``execute_sql``. Its schema (from its signature and
docstring) asks for one string ``query``, but it takes any arguments: TRL calls ``execute_sql(**arguments)``
with whatever the model wrote, and a malformed call (no ``query``, another name) must reach the tool and
be counted as a failed call, as it is under verl and verifiers, not raise a ``TypeError`` in TRL.

The reward functions score the final assistant message with the same computer as single-turn training
(:func:`extensions.rewards.episode.score_episode`) and log ``tool_calls`` and ``tool_errors`` per episode
(``rewards/tool_calls/mean``, ...) as zero-weight functions, like the breakdown components.

>>> env = SqlEnvironment()
>>> env.reset(ground_truth={"sql": "SELECT 1", "db_path": "/nonexistent.sqlite"})
>>> env.execute_sql("SELECT 1"), env.stats
('error: the database is unavailable', EpisodeStats(calls=1, errors=1, budget_spent=False))
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from extensions.config import MultiTurnConfig
from extensions.data.layout import parse_ground_truth
from extensions.defaults.tool import DEFAULT_LIMITS, ToolLimits
from extensions.execution.engine import ExecutionEngine
from extensions.integrations.breakdown_cache import ground_truth_key
from extensions.rewards.combine import RewardComputer
from extensions.rewards.episode import EpisodeStats, final_answer, score_episode
from extensions.tool.sql_tool import SqlSession

__all__ = ["EPISODE_COMPONENTS", "SqlEnvironment", "environment_factory", "make_episode_reward_funcs"]

EPISODE_COMPONENTS = ("acc", "format_ok", "executed", "tool_calls", "tool_errors", "tool_budget_spent")


class SqlEnvironment:
    """One rollout's database and tool budget, for ``GRPOTrainer(environment_factory=...)``.

    Args:
        limits: the tool's bounds (``max_calls`` per episode).
        engine: the execution engine (default: the shared one, as the reward's).
        db_root: the folder for ground truths that name a ``db_id``.
    """

    def __init__(
        self, limits: ToolLimits = DEFAULT_LIMITS, engine: ExecutionEngine | None = None, db_root: str | None = None
    ) -> None:
        self._limits, self._engine, self._db_root = limits, engine, db_root
        self._session = SqlSession(None, limits, engine)

    def reset(self, **example: Any) -> None:
        """Start an episode on the example's database (from its ``ground_truth`` and ``extra_info``)."""
        extra = example.get("extra_info")
        gt = parse_ground_truth(
            example.get("ground_truth"), db_root=self._db_root, extra=extra if isinstance(extra, dict) else None
        )
        self._session = SqlSession(gt.db_path, self._limits, self._engine)

    def execute_sql(self, *args: Any, **kwargs: Any) -> str:
        """Run one read-only SQL query (SQLite) on the question's database and see its columns and first rows.

        Args:
            query: One SELECT statement.

        Returns:
            The result as a small text table, or a one-line error.
        """
        return self._session.execute_sql(query_argument(args, kwargs))

    # What TRL (transformers' get_json_schema) reads to build the tool's schema: one required string.
    execute_sql.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("query", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str),
        ],
        return_annotation=str,
    )
    execute_sql.__annotations__ = {"query": str, "return": str}

    @property
    def stats(self) -> EpisodeStats:
        """How this episode used the tool so far."""
        s = self._session
        return EpisodeStats(s.calls, s.errors, s.budget_spent)


def query_argument(args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """The ``query`` of a tool call however it was made (None when the call has none: a counted error).

    Args:
        args: positional arguments.
        kwargs: keyword arguments (other names are ignored, as verl and verifiers ignore them).

    Returns:
        The query value.

    >>> query_argument((), {"query": "SELECT 1", "limit": 3}), query_argument((), {"sql": "SELECT 1"})
    ('SELECT 1', None)
    """
    if "query" in kwargs:
        return kwargs["query"]
    return args[0] if len(args) == 1 and not kwargs else None


def environment_factory(
    limits: ToolLimits = DEFAULT_LIMITS, engine: ExecutionEngine | None = None, db_root: str | None = None
) -> Callable[[], SqlEnvironment]:
    """A zero-argument factory of :class:`SqlEnvironment` with these bounds (what TRL calls).

    Args:
        limits: the tool's bounds.
        engine: the execution engine.
        db_root: the folder for ``db_id`` ground truths.

    Returns:
        The factory.

    >>> environment_factory(ToolLimits(max_calls=2))()._limits.max_calls
    2
    """
    return functools.partial(SqlEnvironment, limits, engine, db_root)


class _EpisodeScores:
    """The breakdowns of the batch TRL is scoring, computed once for all the reward functions."""

    def __init__(self, computer: RewardComputer, cfg: MultiTurnConfig) -> None:
        self.computer, self.cfg = computer, cfg
        self._key: tuple | None = None
        self._value: list[dict[str, float]] = []

    def breakdowns(self, completions: Sequence[Any], gts: Sequence[Any], envs: Sequence[Any]) -> list[dict[str, float]]:
        stats = [e.stats if isinstance(e, SqlEnvironment) else EpisodeStats() for e in envs]
        key = tuple((final_answer(c), ground_truth_key(g), s) for c, g, s in zip(completions, gts, stats))
        if key != self._key:
            self._value = [score_episode(self.computer, c, g, s, self.cfg) for c, g, s in zip(completions, gts, stats)]
            self._key = key
        return self._value


def make_episode_reward_funcs(
    computer: RewardComputer,
    cfg: MultiTurnConfig,
    *,
    components: Sequence[str] = EPISODE_COMPONENTS,
    ground_truth_key_name: str = "ground_truth",
    on_batch: Callable[..., None] | None = None,
) -> tuple[list[Callable[..., list[float]]], list[float]]:
    """``(reward_funcs, reward_weights)`` for a multi-turn ``GRPOTrainer``.

    Args:
        computer: the reward computer.
        cfg: the ``multi_turn`` config section (optional penalty terms).
        components: breakdown keys logged as zero-weight functions (``tool_calls``, ``tool_errors``, ...).
        ground_truth_key_name: the dataset column holding the ground truth.
        on_batch: called as ``on_batch(prompts, completions, breakdowns)`` once per scored batch (transcripts).

    Returns:
        The functions (``sql_reward`` first) and their weights (1 for the total, 0 for the rest).

    >>> from extensions.rewards.combine import RewardComputer
    >>> funcs, weights = make_episode_reward_funcs(RewardComputer(), MultiTurnConfig())
    >>> [f.__name__ for f in funcs][:3], weights[:2]
    (['sql_reward', 'acc', 'format_ok'], [1.0, 0.0])
    """
    scores = _EpisodeScores(computer, cfg)

    def make(key: str) -> Callable[..., list[float]]:
        def fn(prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **kwargs: Any) -> list[float]:
            completions = list(completions or [])
            gts = list(kwargs.get(ground_truth_key_name) or [None] * len(completions))
            envs = list(kwargs.get("environments") or [None] * len(completions))
            out = scores.breakdowns(completions, gts, envs)
            if key == "score" and on_batch is not None:
                on_batch(prompts, completions, out)
            return [b[key] for b in out]

        fn.__name__ = fn.__qualname__ = "sql_reward" if key == "score" else key
        return fn

    funcs = [make("score")] + [make(c) for c in components]
    return funcs, [1.0] + [0.0] * len(components)
