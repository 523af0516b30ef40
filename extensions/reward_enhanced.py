"""The public face promised to users of the original SQL-R1 extension.

>>> from extensions.reward_enhanced import SchemaAwareReward
>>> schema = {'tables': {'employees': {'columns': ['id', 'name', 'salary', 'department']}}}
>>> SchemaAwareReward(weight=-0.5).compute("SELECT name FROM customers", schema)  # doctest: +NORMALIZE_WHITESPACE
RewardResult(score=-0.5, details={'unknown_tables': ['customers'], 'unknown_columns': [], 'ambiguous_columns': [],
'hallucinations': 1, 'penalised': 1, 'error': None})
"""

from extensions.rewards import (
    BaseReward,
    EnhancedRewardComputer,
    EnhancedRewardResult,
    EnhancedSyntaxReward,
    RewardResult,
    SchemaAwareReward,
    StructuralReward,
)

__all__ = [
    "BaseReward",
    "EnhancedRewardComputer",
    "EnhancedRewardResult",
    "EnhancedSyntaxReward",
    "RewardResult",
    "SchemaAwareReward",
    "StructuralReward",
]
