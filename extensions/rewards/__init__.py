"""Reward components, baseline presets and the combiner (:class:`RewardComputer`).

The public names load lazily: importing one component (``extensions.rewards.presets``, say) does not import
the combiner and the execution engine behind it.
"""

from __future__ import annotations

from typing import Any

_NAMES = {
    "BaseReward": "extensions.rewards.base",
    "RewardResult": "extensions.rewards.base",
    "RewardComputer": "extensions.rewards.combine",
    "EnhancedRewardResult": "extensions.rewards.breakdown",
    "Rollout": "extensions.rewards.rollout",
    "SchemaAwareReward": "extensions.rewards.schema_aware",
    "StructuralReward": "extensions.rewards.structural",
    "EnhancedSyntaxReward": "extensions.rewards.syntax",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(_NAMES[name]), name)
