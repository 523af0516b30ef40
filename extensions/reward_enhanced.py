"""The names promised to users of the original SQL-R1 extension, as aliases of the package's own.

``EnhancedRewardComputer(...)`` takes that extension's keywords and returns a
:class:`~extensions.rewards.combine.RewardComputer`; the three components are the classes of
:mod:`extensions.rewards`.

>>> from extensions.reward_enhanced import SchemaAwareReward
>>> schema = {'tables': {'employees': {'columns': ['id', 'name', 'salary', 'department']}}}
>>> SchemaAwareReward(weight=-0.5).compute("SELECT name FROM customers", schema).score
-0.5
"""

from extensions.rewards.keywords import EnhancedRewardComputer
from extensions.rewards.schema_aware import SchemaAwareReward
from extensions.rewards.structural import StructuralReward
from extensions.rewards.syntax import EnhancedSyntaxReward

__all__ = ["EnhancedRewardComputer", "EnhancedSyntaxReward", "SchemaAwareReward", "StructuralReward"]
