import pathlib

import pytest

from extensions.config import dump_config, load_config
from extensions.errors import ConfigError

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Not run configs: verl's tools YAML (tests/integrations/test_verl_tool.py) and the recipes
# (tests/training/test_recipes.py).
TOOL_CONFIGS = {"verl_sql_tool.yaml", "recipes.yaml"}


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (ROOT / "configs").glob("*.yaml") if p.name not in TOOL_CONFIGS)
)
def test_shipped_configs_load_round_trip_and_build_a_reward(name, tmp_path):
    from extensions.rewards import RewardComputer

    cfg = load_config(ROOT / "configs" / name, env=False)
    dump_config(cfg, str(tmp_path / "again.yaml"))
    assert load_config(tmp_path / "again.yaml", env=False) == cfg
    assert RewardComputer(cfg).preset == cfg.reward.baseline


def test_seed_values():
    cfg = load_config(ROOT / "configs" / "train_24gb.yaml", env=False)
    r = cfg.reward
    w = r.structural_weights
    assert (r.schema_weight, w["select"], w["where"], w["tables"], r.structural_weight, r.syntax_weight) == (
        -0.5,
        0.3,
        0.3,
        0.3,
        0.8,
        0.2,
    )


@pytest.mark.parametrize(
    "override", ["reward.structural_select_weight=0.5", "reward.baseline=seed_combined", "execution.adaptive_min_s=1"]
)
def test_retired_spellings_are_refused_by_name(override):
    with pytest.raises(ConfigError, match=override.split("=")[0].replace(".", r"\.")):
        load_config(overrides=[override], env=False)


def test_clause_weights_fill_their_defaults():
    partial = load_config(overrides=["reward.structural_weights.tables=0.0"], env=False).reward.structural_weights
    assert partial["tables"] == 0.0 and partial["select"] == 0.3
    with pytest.raises(ConfigError, match="reward.structural_weights"):
        load_config(overrides=["reward.structural_weights.bogus=1"], env=False)


@pytest.mark.parametrize("key, value", [("wrong_ceiling", 0), ("wrong_ceiling", 1.5), ("result_weight", -1)])
def test_band_and_result_keys_are_checked(key, value):
    with pytest.raises(ConfigError, match=f"reward.{key}"):
        load_config(overrides=[f"reward.{key}={value}"], env=False)


def test_presets():
    for p in ("sql_r1", "arctic", "reasoning_sql"):
        assert load_config(ROOT / "configs" / f"preset_{p}.yaml", env=False).reward.baseline == p


def test_overrides_and_env(monkeypatch):
    monkeypatch.setenv("EXTENSIONS__REWARD__SCHEMA_WEIGHT", "-0.1")
    monkeypatch.setenv("EXTENSIONS__OPTIMIZATION__LORA__TARGET_MODULES", "[q_proj]")
    cfg = load_config(ROOT / "configs" / "train_24gb.yaml", overrides=["grpo.num_generations=4"])
    assert cfg.reward.schema_weight == -0.1
    assert cfg.optimization.lora.target_modules == ["q_proj"]
    assert cfg.grpo.num_generations == 4
    # explicit overrides beat the environment
    assert load_config(overrides={"reward.schema_weight": -0.2}).reward.schema_weight == -0.2


def test_config_path_from_env(monkeypatch):
    monkeypatch.setenv("EXTENSIONS_CONFIG", str(ROOT / "configs" / "preset_sql_r1.yaml"))
    assert load_config().reward.baseline == "sql_r1"


@pytest.mark.parametrize(
    "override,needle",
    [
        ("reward.baseline=bogus", "reward.baseline: Input should be 'sql_r1', 'arctic', 'reasoning_sql' or 'combined'"),
        ("reward.schema_weight=0.5", "reward.schema_weight"),
        ("reward.gating=sometimes", "'wrong_only' or 'always'"),
        ("optimization.mixed_precision=fp8", "optimization.mixed_precision"),
        ("optimization.lora.r=0", "optimization.lora.r: Input should be greater than or equal to 1"),
        ("reward.shema_weight=1", "reward.shema_weight: unknown key"),
        ("grpo.num_generations=1", "grpo.num_generations"),
        ("noequals", "expected section.key=value"),
    ],
)
def test_errors_name_the_key(override, needle):
    with pytest.raises(ConfigError) as err:
        load_config(overrides=[override], env=False)
    assert needle in str(err.value)


@pytest.mark.parametrize(
    "override,hint",
    [
        ("reward.schema_wieght=0.1", "; did you mean reward.schema_weight?"),
        ("verl.nnode=2", "; did you mean verl.nnodes?"),
        ("optimization.lora.rr=3", "; did you mean optimization.lora.r?"),
        ("rewrd.baseline=arctic", "; did you mean reward?"),
        ("reward.zzz=1", ""),
    ],
)
def test_a_misspelt_key_gets_the_closest_known_key(override, hint):
    with pytest.raises(ConfigError) as err:
        load_config(overrides=[override], env=False)
    message = str(err.value)
    assert "unknown key (got " in message and message.endswith(")" + hint)


def test_a_misspelt_environment_variable_gets_a_hint_too(monkeypatch):
    monkeypatch.setenv("EXTENSIONS__REWARD__SCHEMA_WIEGHT", "-0.3")
    with pytest.raises(ConfigError, match=r"reward.schema_wieght: unknown key .*did you mean reward.schema_weight\?"):
        load_config()


@pytest.mark.parametrize(
    "override",
    [
        "execution.timeout_s=inf",
        "execution.max_cpu_s=inf",
        "execution.adaptive_k=inf",
        "reward.broken_score=nan",
        "reward.correct_floor=nan",
        "reward.structural_weight=inf",
        "reward.schema_weight=-inf",
        "multi_turn.max_cpu_s=inf",
    ],
)
def test_a_non_finite_number_is_refused_by_name(override):
    key = override.split("=")[0]
    with pytest.raises(ConfigError, match=rf"^{key}: Input should be a finite number"):
        load_config(overrides=[override], env=False)


@pytest.mark.parametrize(
    "override,needle",
    [
        (
            "execution.adaptive_min_steps=0",
            "execution.adaptive_min_steps: Input should be greater than or equal to 1000",
        ),
        ("execution.adaptive_min_cpu_s=0", "execution.adaptive_min_cpu_s: Input should be greater than 0"),
        ("execution.memory_mb=16", "execution.memory_mb: Value error, a worker needs at least 256 MiB"),
    ],
)
def test_a_budget_that_would_mean_none_or_a_worker_that_cannot_start_is_refused(override, needle):
    with pytest.raises(ConfigError) as err:
        load_config(overrides=[override], env=False)
    assert str(err.value).startswith(needle)


@pytest.mark.parametrize(
    "override", ["execution.memory_mb=0", "execution.memory_mb=256", "execution.adaptive_min_steps=1000"]
)
def test_the_smallest_accepted_values_load(override):
    load_config(overrides=[override], env=False)


def test_a_non_finite_number_in_a_file_is_refused_too(tmp_path):
    path = tmp_path / "inf.yaml"
    path.write_text("execution:\n  timeout_s: .inf\n")
    with pytest.raises(ConfigError, match="execution.timeout_s: Input should be a finite number"):
        load_config(path, env=False)


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("reward: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(lst)


def test_dump_roundtrip(tmp_path):
    cfg = load_config(overrides=["reward.baseline=sql_r1"], env=False)
    dump_config(cfg, str(tmp_path / "resolved.yaml"))
    assert load_config(tmp_path / "resolved.yaml", env=False) == cfg
