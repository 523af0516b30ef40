"""RewardComputer from a config, from load_config and from the seed's keywords agree; presets come from one registry."""

import pickle

import pytest

from extensions.config import RewardConfig, load_config
from extensions.errors import ConfigError
from extensions.reward_enhanced import EnhancedRewardComputer
from extensions.rewards.combine import RewardComputer
from extensions.rewards.presets import PRESETS

GOLD = "SELECT name FROM employees WHERE salary > 100000 ORDER BY name"
SQLS = [GOLD, "SELECT name FROM employees", "SELECT nme FROM employes", "SELEC x", "DELETE FROM employees"]


def _outs():
    return [f"<think>t</think><answer>```sql\n{s}\n```</answer>" for s in SQLS] + [s for s in SQLS]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_config_and_keyword_constructors_agree(engine, demo_paths, preset):
    kw = dict(schema_weight=-0.3, syntax_weight=0.1, structural_weights={"select": 0.4}, structural_weight=0.9)
    kw["enable_enhanced"] = True  # the keyword constructor keeps the original extension's default: shaping on
    by_cfg = RewardComputer(RewardConfig(baseline=preset, **kw), engine=engine)
    seed = dict(schema_weight=-0.3, syntax_weight=0.1, structural_select_weight=0.4)  # multiplier 0.4 + 0.3 + 0.2
    by_kw = EnhancedRewardComputer(baseline_reward_fn=preset, engine=engine, **seed)
    overrides = [f"reward.baseline={preset}", "reward.structural_weight=0.9", "reward.structural_weights.select=0.4"]
    overrides.append("reward.enable_enhanced=true")
    by_load = RewardComputer(
        load_config(overrides=[*overrides, "reward.schema_weight=-0.3", "reward.syntax_weight=0.1"]), engine=engine
    )
    gt = {"sql": GOLD, "db_path": demo_paths["hr"]}
    for out in _outs():
        a, b, c = (x.compute_reward(out, gt).breakdown for x in (by_cfg, by_kw, by_load))
        a.pop("pred_time_ms"), b.pop("pred_time_ms"), c.pop("pred_time_ms")
        assert a == b == c


def test_keys_come_from_the_preset_registry():
    for name, preset in PRESETS.items():
        keys = RewardComputer(RewardConfig(baseline=name)).keys
        assert [k for k in keys if k.startswith("b_")] == [f"b_{c}" for c in preset.components]
        assert "broken" in keys and "status_too_deep" in keys


def test_config_accepts_exactly_the_registered_presets():
    for name in PRESETS:
        assert load_config(overrides=[f"reward.baseline={name}"]).reward.baseline == name
    with pytest.raises(ConfigError, match="reward.baseline"):
        load_config(overrides=["reward.baseline=sql_r2"])


def test_full_config_sets_engine_and_db_root(demo_dir):
    cfg = load_config(overrides=[f"data.db_root={demo_dir}/database", "execution.workers=1"])
    rc = RewardComputer(cfg)
    r = rc.compute_reward(
        "```sql\nSELECT count(*) FROM employees\n```", {"sql": "SELECT count(id) FROM employees", "db_id": "hr"}
    )
    assert r.acc == 1.0 and rc.engine.settings.workers == 1


def test_callable_baseline_and_picklable(engine, demo_paths):
    rc = RewardComputer(RewardConfig(), baseline=lambda s, g: 0.25, engine=engine)
    assert (
        rc.preset is None
        and rc.compute_reward("SELECT 1", {"sql": GOLD, "db_path": demo_paths["hr"]}).baseline_total == 0.25
    )
    with pytest.raises(TypeError):
        RewardComputer(RewardConfig(), baseline="arctic")  # a name belongs in cfg.baseline
    with pytest.raises(TypeError):
        RewardComputer("arctic")  # type: ignore[arg-type]  # so does this one
    copy = pickle.loads(pickle.dumps(RewardComputer(RewardConfig(baseline="sql_r1"))))
    assert copy.preset == "sql_r1"


def test_seed_keyword_errors_name_the_field():
    with pytest.raises(ValueError, match="baseline"):
        EnhancedRewardComputer(baseline_reward_fn="nope")
    with pytest.raises(ValueError, match="schema_weight"):
        EnhancedRewardComputer(baseline_reward_fn="arctic", schema_weight=0.5)
    with pytest.raises(ValueError, match="structural_weights"):
        EnhancedRewardComputer(structural_join_weight=-1.0)
    with pytest.raises(TypeError):
        EnhancedRewardComputer(baseline_reward_fn=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        EnhancedRewardComputer(gating="always")  # not a seed keyword: RewardComputer's keywords only
    with pytest.raises(TypeError):
        RewardComputer(RewardConfig(), baseline=42)  # type: ignore[arg-type]


def test_seed_structural_keywords_set_the_weights_and_their_sum():
    c = EnhancedRewardComputer(structural_select_weight=0.5, structural_join_weight=0.4)
    w = c.cfg.structural_weights
    assert (w["select"], w["where"], w["join_conditions"], w["tables"]) == (0.5, 0.3, 0.4, 0.3)
    assert c.cfg.structural_weight == pytest.approx(1.2)  # 0.5 + 0.4 + the seed's 0.3 for where
    assert isinstance(c, RewardComputer) and EnhancedRewardComputer().cfg == RewardConfig(enable_enhanced=True)
    assert RewardConfig().enable_enhanced is False  # shaping is opt-in everywhere else
