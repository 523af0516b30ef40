"""The verl hook's contract without verl: config mistakes raise at once, samples never do, any sequence type."""

from __future__ import annotations

import asyncio
import math
import pathlib

import numpy as np
import pytest
import yaml

from extensions import verl_hook
from extensions.errors import ConfigError

MISTAKES = yaml.safe_load((pathlib.Path(__file__).parents[1] / "fixtures" / "config_mistakes.yaml").read_text())


def _async(**kw):
    return asyncio.run(verl_hook.compute_score_async("demo", "SELECT 1", "SELECT 1", None, **kw))


ENTRY_POINTS = {
    "compute_score": lambda **kw: verl_hook.compute_score("demo", "SELECT 1", "SELECT 1", None, **kw),
    "compute_score_async": _async,
    "compute_score_batch": lambda **kw: verl_hook.compute_score_batch(
        ["demo"], ["SELECT 1"], ["SELECT 1"], [None], **kw
    ),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("case", MISTAKES, ids=[m["names"] for m in MISTAKES])
def test_config_mistake_raises_on_first_call_naming_the_key(entry, case):
    with pytest.raises(ConfigError, match=case["names"].replace(".", r"\.")):
        ENTRY_POINTS[entry](**case["kwargs"])


def test_prime_entry_point_raises_on_a_broken_environment_config(monkeypatch, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("reward: {baseline: nope}\n")
    monkeypatch.setenv("EXTENSIONS_CONFIG", str(bad))
    with pytest.raises(ConfigError, match="reward.baseline"):
        verl_hook.compute_score_prime("demo", "SELECT 1", "SELECT 1", None)


def _cases(demo_paths):
    good = {"sql": "SELECT count(*) FROM employees", "db_path": demo_paths["hr"]}
    sols = ["<think>x</think><answer>```sql\nSELECT count(*) FROM employees\n```</answer>", "SELECT 1", None, b"\xff"]
    return sols, [good, good, good, "not json {"]


@pytest.mark.parametrize("kind", ["list", "tuple", "numpy"])
def test_batch_accepts_any_sequence(kind, demo_paths):
    sols, gts = _cases(demo_paths)
    wrap = {"list": list, "tuple": tuple, "numpy": lambda xs: np.array(xs, dtype=object)}[kind]
    outs = verl_hook.compute_score_batch(
        wrap(["demo"] * 4), wrap(sols), wrap(gts), wrap([{}] * 4), overrides=["execution.workers=1"]
    )
    assert [o["acc"] for o in outs] == [1.0, 0.0, 0.0, 0.0]
    assert outs[3]["status_db_missing"] == 1.0  # bare text is SQL without a database
    assert all(sorted(o) == sorted(outs[0]) and all(math.isfinite(v) for v in o.values()) for o in outs)


def test_numpy_string_array_of_solutions(demo_paths):
    good = {"sql": "SELECT count(*) FROM employees", "db_path": demo_paths["hr"]}
    sols = np.array(["SELECT count(*) FROM employees", "SELECT 2"])
    outs = verl_hook.compute_score_batch(
        None, sols, np.array([good, good], dtype=object), None, overrides=["execution.workers=1"]
    )
    assert len(outs) == 2 and outs[0]["acc"] == 1.0 and outs[1]["acc"] == 0.0


def test_missing_database_is_a_status_and_the_warning_names_the_host(caplog):
    import socket

    gt = {"sql": "SELECT 1", "db_path": "/nonexistent/eco_missing.sqlite"}
    with caplog.at_level("WARNING"):
        out = verl_hook.compute_score("demo", "SELECT 1", gt, None, overrides=["execution.workers=1"])
    assert out["status_db_missing"] == 1.0 and out["broken"] == 1.0 and out["score"] == 0.0
    assert any(
        socket.gethostname() in r.getMessage()
        and "eco_missing.sqlite" in r.getMessage()
        and "db_missing" in r.getMessage()
        for r in caplog.records
    )


def test_verl_keyword_arguments_are_accepted():
    plain = verl_hook.compute_score("demo", "SELECT 1", None, None)
    out = verl_hook.compute_score(
        "demo", "SELECT 1", None, None, reward_router_address="http://x", reward_model_tokenizer=None
    )
    assert out == plain and out["status_gold_error"] == 1.0
