"""``EnhancedRewardComputer``: the seed's keyword constructor over :class:`RewardComputer`.

Every keyword maps to a field of :class:`~extensions.config.RewardConfig` of the same meaning;
the computer itself is a :class:`~extensions.rewards.combine.RewardComputer`.

>>> c = EnhancedRewardComputer("sql_r1", schema_weight=-0.25, syntax_weight=0.1)
>>> c.cfg.baseline, c.cfg.schema_weight, c.syntax_weight
('sql_r1', -0.25, 0.1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from extensions.config import Config, RewardConfig, SqlR1Config
from extensions.execution.engine import EngineSettings, ExecutionEngine
from extensions.rewards.combine import BaselineFn, RewardComputer

class EnhancedRewardComputer(RewardComputer):
    """Baseline + shaping with the seed's constructor.

    Args:
        baseline_reward_fn: a preset name (``sql_r1``, ``arctic``, ``reasoning_sql``,
            ``seed_combined``) or a callable ``fn(solution_str, ground_truth) -> float | {"score": float}``.
        enable_enhanced: add shaping to the baseline (otherwise total = baseline).
        schema_weight: penalty per hallucinated table/column (<= 0), at most ``schema_penalty_cap`` names.
        structural_*_weight: clause weights of :class:`StructuralReward`; its [0, 1] score is
            multiplied by ``structural_weight`` (default: the sum of the select, where and join weights).
        syntax_weight: credit for a valid read-only query.
        gating: ``"wrong_only"`` (default) shapes wrong answers only; ``"always"`` every answer.
        correct_floor: smallest total of a correct answer (default: the preset's, or 1.0 for a callable).
        db_root, engine, engine_settings, extra_components: as for :class:`RewardComputer`.
        Every other keyword is the :class:`~extensions.config.RewardConfig` field of the same name
        (``sql_r1_max_length``/``sql_r1_length_weight`` are ``sql_r1.max_length``/``sql_r1.length_weight``).

    Raises:
        ValueError: an unknown preset or an invalid value (the message names the field).
        TypeError: a baseline that is neither a preset name nor a callable.
    """

    def __init__(
        self,
        baseline_reward_fn: str | BaselineFn | None = "arctic",
        enable_enhanced: bool = True,
        schema_weight: float = -0.5,
        structural_select_weight: float = 0.3,
        structural_where_weight: float = 0.3,
        structural_join_weight: float = 0.2,
        syntax_weight: float = 0.2,
        *,
        structural_group_by_weight: float = 0.1,
        structural_having_weight: float = 0.05,
        structural_order_by_weight: float = 0.1,
        structural_limit_weight: float = 0.05,
        structural_set_ops_weight: float = 0.05,
        structural_weight: float | None = None,
        schema_penalty_cap: int | None = 2,
        gating: str = "wrong_only",
        margin: float = 0.05,
        correct_floor: float | None = None,
        semantics: str = "spider",
        keep_distinct: bool = False,
        empty_result_is_wrong: bool = False,
        extraction_style: str = "auto",
        require_sql_block: bool = True,
        sql_r1_max_length: int = 4096,
        sql_r1_length_weight: float = 0.5,
        db_root: str | None = None,
        engine: ExecutionEngine | None = None,
        engine_settings: EngineSettings | None = None,
        extra_components: Sequence[Any] = (),
    ) -> None:
        fields = {k: v for k, v in locals().items() if k in RewardConfig.model_fields}
        preset, baseline = _split_baseline(baseline_reward_fn)
        cfg = RewardConfig(**{**fields, "baseline": preset},
                           sql_r1=SqlR1Config(max_length=sql_r1_max_length, length_weight=sql_r1_length_weight))
        super().__init__(cfg, engine=engine, engine_settings=engine_settings, baseline=baseline,
                         extra_components=extra_components, db_root=db_root)

    @classmethod
    def from_config(cls, cfg: Config | RewardConfig, *, baseline_reward_fn: str | BaselineFn | None = None,
                    **kw: Any) -> "EnhancedRewardComputer":
        """Build from a :class:`~extensions.config.Config` (or its ``reward`` section).

        Args:
            cfg: the config.
            baseline_reward_fn: a preset name or callable instead of ``cfg.reward.baseline``.
            kw: ``engine``, ``engine_settings``, ``extra_components``, ``db_root``, or reward fields to override.

        Returns:
            The computer.
        """
        r = cfg.reward if isinstance(cfg, Config) else cfg
        own = {k: kw.pop(k) for k in ("engine", "engine_settings", "extra_components", "db_root") if k in kw}
        if isinstance(cfg, Config):
            own.setdefault("db_root", cfg.data.db_root)
            own.setdefault("engine_settings", cfg.execution.engine_settings())
        preset, baseline = _split_baseline(baseline_reward_fn or r.baseline)
        sql_r1 = {"max_length": kw.pop("sql_r1_max_length", r.sql_r1.max_length),
                  "length_weight": kw.pop("sql_r1_length_weight", r.sql_r1.length_weight)}
        reward = RewardConfig.model_validate({**r.model_dump(), **kw, "baseline": preset, "sql_r1": sql_r1})
        obj = cls.__new__(cls)
        RewardComputer.__init__(obj, reward, baseline=baseline, **own)
        return obj


def _split_baseline(fn: str | BaselineFn | None) -> tuple[str, BaselineFn | None]:
    """(preset name for the config, callable or None)."""
    if fn is None:
        return "arctic", None
    if isinstance(fn, str):
        return fn, None
    if callable(fn):
        return "arctic", fn
    raise TypeError("baseline_reward_fn must be a preset name or a callable")
