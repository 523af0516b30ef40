"""``EnhancedRewardComputer``: :class:`~extensions.rewards.combine.RewardComputer` built from keywords.

The keyword constructor of the original SQL-R1 extension: every keyword is the
:class:`~extensions.config.RewardConfig` field of the same name (``structural_<clause>_weight`` and
``sql_r1_*`` keep their older spellings), applied over ``config`` (default ``RewardConfig()``).
:meth:`EnhancedRewardComputer.from_config` and :meth:`EnhancedRewardComputer.from_kwargs` build the
same object the same way.

>>> c = EnhancedRewardComputer("sql_r1", schema_weight=-0.25, syntax_weight=0.1)
>>> c.cfg.baseline, c.cfg.schema_weight, c.syntax_weight
('sql_r1', -0.25, 0.1)
>>> from extensions.config import load_config
>>> EnhancedRewardComputer.from_config(load_config(), syntax_weight=0.3).cfg.syntax_weight
0.3
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from extensions.config import LEGACY_STRUCTURAL_KEYS, Config, RewardConfig, legacy_reward_keys
from extensions.execution.engine import EngineSettings, ExecutionEngine
from extensions.rewards.combine import BaselineFn, RewardComputer

_SQL_R1_KEYS = {"sql_r1_max_length": "max_length", "sql_r1_length_weight": "length_weight"}


class EnhancedRewardComputer(RewardComputer):
    """Baseline + shaping, configured by keywords.

    Args:
        baseline_reward_fn: a preset name (``sql_r1``, ``arctic``, ``reasoning_sql``, ``combined``)
            or a callable ``fn(solution_str, ground_truth) -> float | {"score": float}``
            (default: ``config``'s preset).
        enable_enhanced: add shaping to the baseline (otherwise total = baseline).
        schema_weight: penalty per hallucinated table/column (<= 0), at most ``schema_penalty_cap`` names.
        structural_select_weight / structural_where_weight / structural_join_weight: clause weights
            (SELECT items, WHERE predicates, JOIN conditions); see ``RewardConfig.structural_weights``.
        syntax_weight: credit for a valid read-only query.
        config: the config the keywords apply to: a :class:`~extensions.config.Config` (its
            ``execution`` and ``data.db_root`` are used too) or a ``RewardConfig``.
        db_root, engine, engine_settings, extra_components: as for :class:`RewardComputer`.
        fields: any other :class:`~extensions.config.RewardConfig` field (``gating``, ``margin``,
            ``wrong_ceiling``, ``result_weight``, ...), ``structural_<clause>_weight`` or
            ``sql_r1_max_length`` / ``sql_r1_length_weight``. Keywords left at None keep the config's value.

    Raises:
        ValueError: an unknown preset or an invalid value (the message names the field).
        TypeError: an unknown keyword, or a baseline that is neither a preset name nor a callable.
    """

    def __init__(
        self,
        baseline_reward_fn: str | BaselineFn | None = None,
        enable_enhanced: bool | None = None,
        schema_weight: float | None = None,
        structural_select_weight: float | None = None,
        structural_where_weight: float | None = None,
        structural_join_weight: float | None = None,
        syntax_weight: float | None = None,
        *,
        config: Config | RewardConfig | None = None,
        db_root: str | None = None,
        engine: ExecutionEngine | None = None,
        engine_settings: EngineSettings | None = None,
        extra_components: Sequence[Any] = (),
        **fields: Any,
    ) -> None:
        named = {
            "enable_enhanced": enable_enhanced,
            "schema_weight": schema_weight,
            "structural_select_weight": structural_select_weight,
            "structural_where_weight": structural_where_weight,
            "structural_join_weight": structural_join_weight,
            "syntax_weight": syntax_weight,
        }
        fields.update({k: v for k, v in named.items() if v is not None})
        if isinstance(config, Config):
            db_root = db_root if db_root is not None else config.data.db_root
            engine_settings = engine_settings or config.execution.engine_settings()
            config = config.reward
        preset, baseline = _split_baseline(baseline_reward_fn)
        if preset is not None:
            fields["baseline"] = preset
        cfg = keyword_config(config or RewardConfig(), fields)
        super().__init__(
            cfg,
            engine=engine,
            engine_settings=engine_settings,
            baseline=baseline,
            extra_components=extra_components,
            db_root=db_root,
        )

    @classmethod
    def from_kwargs(cls, **kw: Any) -> EnhancedRewardComputer:
        """The computer of the keyword constructor (the same as ``EnhancedRewardComputer(**kw)``).

        Args:
            kw: the constructor's keywords.

        Returns:
            The computer.
        """
        return cls(**kw)

    @classmethod
    def from_config(
        cls, cfg: Config | RewardConfig, *, baseline_reward_fn: str | BaselineFn | None = None, **kw: Any
    ) -> EnhancedRewardComputer:
        """Build from a :class:`~extensions.config.Config` (or its ``reward`` section).

        Args:
            cfg: the config.
            baseline_reward_fn: a preset name or callable instead of ``cfg.reward.baseline``.
            kw: ``engine``, ``engine_settings``, ``extra_components``, ``db_root``, or reward fields to override.

        Returns:
            The computer.
        """
        return cls(baseline_reward_fn, config=cfg, **kw)


def keyword_config(base: RewardConfig, fields: dict[str, Any]) -> RewardConfig:
    """``base`` with keyword ``fields`` applied (older spellings accepted); validated.

    Args:
        base: the config to start from.
        fields: ``RewardConfig`` field names, ``structural_<clause>_weight`` or ``sql_r1_*`` keys.

    Returns:
        The new config.

    Raises:
        TypeError: a keyword that names no field.

    >>> keyword_config(RewardConfig(), {"structural_join_weight": 0.4}).structural_weights["join_conditions"]
    0.4
    """
    fields = dict(fields)
    known = set(RewardConfig.model_fields) | set(LEGACY_STRUCTURAL_KEYS) | set(_SQL_R1_KEYS)
    unknown = sorted(set(fields) - known)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
    sql_r1 = {**base.sql_r1.model_dump(), **{_SQL_R1_KEYS[k]: fields.pop(k) for k in list(fields) if k in _SQL_R1_KEYS}}
    given = legacy_reward_keys(fields)
    data = {**base.model_dump(), **given, "sql_r1": {**sql_r1, **dict(given.get("sql_r1") or {})}}
    data["structural_weights"] = {**base.structural_weights, **dict(given.get("structural_weights") or {})}
    return RewardConfig.model_validate(data)


def _split_baseline(fn: str | BaselineFn | None) -> tuple[str | None, BaselineFn | None]:
    """(preset name for the config or None to keep it, callable or None)."""
    if fn is None or isinstance(fn, str):
        return fn, None
    if callable(fn):
        return None, fn
    raise TypeError("baseline_reward_fn must be a preset name or a callable")
