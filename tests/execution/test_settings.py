"""Engine defaults are defined once: the config section mirrors EngineSettings field for field."""

import dataclasses

import pytest

from extensions.config import ExecutionConfig, load_config
from extensions.errors import ConfigError
from extensions.execution.settings import EngineSettings


def test_config_defaults_are_the_engine_defaults():
    assert ExecutionConfig().engine_settings() == EngineSettings()
    assert set(ExecutionConfig.model_fields) == {f.name for f in dataclasses.fields(EngineSettings)}


def test_config_values_reach_the_engine():
    cfg = load_config(overrides=["execution.cache_max_bytes=1000000", "execution.max_result_bytes=2000000"], env=False)
    s = cfg.execution.engine_settings()
    assert (s.cache_max_bytes, s.max_result_bytes) == (1_000_000, 2_000_000)


def test_the_old_cell_budget_key_names_its_replacement():
    with pytest.raises(ConfigError, match="cache_max_bytes"):
        load_config(overrides=["execution.cache_max_cells=20000000"], env=False)
