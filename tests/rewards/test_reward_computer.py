"""RewardComputer built from a config equals the seed's keyword constructor; presets come from one registry."""

import pickle

import pytest

from extensions.config import RewardConfig, load_config
from extensions.errors import ConfigError
from extensions.reward_enhanced import EnhancedRewardComputer
from extensions.rewards import RewardComputer
from extensions.rewards.presets import PRESETS

GOLD = "SELECT name FROM employees WHERE salary > 100000 ORDER BY name"
SQLS = [GOLD, "SELECT name FROM employees", "SELECT nme FROM employes", "SELEC x", "DELETE FROM employees"]


def _outs():
    return [f"<think>t</think><answer>```sql\n{s}\n```</answer>" for s in SQLS] + [s for s in SQLS]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_config_and_keyword_constructors_agree(engine, demo_paths, preset):
    kw = dict(schema_weight=-0.3, structural_select_weight=0.4, syntax_weight=0.1, gating="always")
    by_cfg = RewardComputer(RewardConfig(baseline=preset, **kw), engine=engine)
    by_kw = EnhancedRewardComputer(preset, engine=engine, **kw)
    by_load = EnhancedRewardComputer.from_config(
        load_config(overrides=[f"reward.baseline={preset}"] + [f"reward.{k}={v}" for k, v in kw.items()]), engine=engine
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
    copy = pickle.loads(pickle.dumps(RewardComputer(RewardConfig(baseline="sql_r1"))))
    assert copy.preset == "sql_r1"


def test_seed_keyword_errors_name_the_field():
    with pytest.raises(ValueError, match="gating"):
        EnhancedRewardComputer("arctic", gating="sometimes")
    with pytest.raises(ValueError, match="baseline"):
        EnhancedRewardComputer("nope")
    with pytest.raises(ValueError, match="schema_weight"):
        EnhancedRewardComputer("arctic", schema_weight=0.5)
    with pytest.raises(TypeError):
        EnhancedRewardComputer(42)  # type: ignore[arg-type]
