"""The original SQL-R1 extension's keyword constructor, kept for its users.

``EnhancedRewardComputer(baseline_reward_fn=..., schema_weight=..., structural_select_weight=..., ...)`` is how
that extension built its reward. :func:`EnhancedRewardComputer` keeps the call working and returns the package's
one reward class, :class:`~extensions.rewards.combine.RewardComputer`, with the
:class:`~extensions.config.RewardConfig` the keywords describe. New code builds ``RewardComputer`` directly.

>>> c = EnhancedRewardComputer(baseline_reward_fn="sql_r1", schema_weight=-0.25, structural_join_weight=0.4)
>>> type(c).__name__, c.cfg.baseline, c.cfg.schema_weight, c.cfg.structural_weights["join_conditions"]
('RewardComputer', 'sql_r1', -0.25, 0.4)
"""

from __future__ import annotations

from typing import Any

from extensions.config import RewardConfig
from extensions.rewards.combine import BaselineFn, RewardComputer

# The seed's three clause keywords, their clause in ``reward.structural_weights`` and the seed's default.
_CLAUSE_KEYWORDS = {"select": ("select", 0.3), "where": ("where", 0.3), "join": ("join_conditions", 0.2)}


def EnhancedRewardComputer(  # the promised name, spelled as the class it once was
    baseline_reward_fn: str | BaselineFn | None = None,
    enable_enhanced: bool = True,
    schema_weight: float | None = None,
    structural_select_weight: float | None = None,
    structural_where_weight: float | None = None,
    structural_join_weight: float | None = None,
    syntax_weight: float | None = None,
    **options: Any,
) -> RewardComputer:
    """A :class:`RewardComputer` from the original extension's keywords.

    Args:
        baseline_reward_fn: a preset name (``reward.baseline``) or a callable
            ``fn(solution_str, ground_truth) -> float | {"score": float}``; None keeps ``arctic``.
        enable_enhanced: add shaping to the baseline (``reward.enable_enhanced``). True, as in the original
            extension; :class:`RewardConfig` itself ships with shaping off.
        schema_weight: penalty per hallucinated table or column (``reward.schema_weight``, <= 0).
        structural_select_weight: weight of the SELECT items in the structural credit.
        structural_where_weight: weight of the WHERE predicates.
        structural_join_weight: weight of the JOIN conditions. When any of the three is given, the
            structural multiplier (``reward.structural_weight``) is their sum, with 0.3, 0.3 and 0.2 for
            the ones not given, as in the original extension.
        syntax_weight: credit for a valid read-only query (``reward.syntax_weight``).
        **options: keywords of :class:`RewardComputer` (``engine``, ``engine_settings``, ``db_root``,
            ``extra_components``).

    Returns:
        The computer. A keyword left at None keeps the :class:`RewardConfig` default.

    Raises:
        ValueError: an unknown preset or an invalid value (pydantic's message names the field).
        TypeError: a baseline that is neither a preset name nor a callable, or an unknown keyword.
    """
    fields: dict[str, Any] = {
        "enable_enhanced": enable_enhanced,
        "schema_weight": schema_weight,
        "syntax_weight": syntax_weight,
    }
    baseline = None
    if isinstance(baseline_reward_fn, str):
        fields["baseline"] = baseline_reward_fn
    elif callable(baseline_reward_fn):
        baseline = baseline_reward_fn
    elif baseline_reward_fn is not None:
        raise TypeError("baseline_reward_fn must be a preset name or a callable")
    given = {"select": structural_select_weight, "where": structural_where_weight, "join": structural_join_weight}
    if any(v is not None for v in given.values()):
        fields["structural_weights"] = {_CLAUSE_KEYWORDS[k][0]: v for k, v in given.items() if v is not None}
        total = sum(_CLAUSE_KEYWORDS[k][1] if v is None else v for k, v in given.items())
        fields["structural_weight"] = round(total, 12)
    cfg = RewardConfig.model_validate({k: v for k, v in fields.items() if v is not None})
    return RewardComputer(cfg, baseline=baseline, **options)
