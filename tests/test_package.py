"""What ``import extensions`` and the promised alias module hand a user, and that importing the package is cheap."""

import subprocess
import sys

import extensions
from extensions import config, reward_enhanced
from extensions.rewards import combine, schema_aware, structural, syntax


def test_the_package_gives_the_names_a_user_needs_from_their_homes():
    assert sorted(extensions.__all__) == ["Config", "RewardComputer", "RewardConfig", "load_config"]
    assert extensions.RewardComputer is combine.RewardComputer
    assert (extensions.Config, extensions.RewardConfig, extensions.load_config) == (
        config.Config,
        config.RewardConfig,
        config.load_config,
    )
    assert extensions.load_config().reward == extensions.RewardConfig()


def test_the_alias_module_keeps_exactly_the_promised_names():
    assert sorted(reward_enhanced.__all__) == [
        "EnhancedRewardComputer",
        "EnhancedSyntaxReward",
        "SchemaAwareReward",
        "StructuralReward",
    ]
    assert reward_enhanced.SchemaAwareReward is schema_aware.SchemaAwareReward
    assert reward_enhanced.StructuralReward is structural.StructuralReward
    assert reward_enhanced.EnhancedSyntaxReward is syntax.EnhancedSyntaxReward
    assert type(reward_enhanced.EnhancedRewardComputer(baseline_reward_fn="sql_r1")) is combine.RewardComputer


def test_importing_the_package_imports_nothing_heavy():
    """The engine's worker processes import the package too: its names load on first use."""
    code = "import sys, extensions; print(sorted(m for m in ('sqlglot', 'pydantic', 'yaml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
