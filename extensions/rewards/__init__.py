"""Reward components, baseline presets and the combiner."""

from extensions.rewards.base import BaseReward, RewardResult
from extensions.rewards.combine import EnhancedRewardComputer, EnhancedRewardResult
from extensions.rewards.schema_aware import SchemaAwareReward
from extensions.rewards.structural import StructuralReward
from extensions.rewards.syntax import EnhancedSyntaxReward

__all__ = [
    "BaseReward",
    "EnhancedRewardComputer",
    "EnhancedRewardResult",
    "EnhancedSyntaxReward",
    "RewardResult",
    "SchemaAwareReward",
    "StructuralReward",
]
