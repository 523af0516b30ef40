import pytest

from extensions.config import RewardConfig
from extensions.integrations.trl import DEFAULT_COMPONENTS, PLAIN_COMPONENTS, completion_text, make_reward_funcs
from extensions.rewards.combine import RewardComputer


def test_shaping_off_logs_no_shaping_components(engine):
    funcs, weights = make_reward_funcs(RewardComputer(RewardConfig(enable_enhanced=False), engine=engine))
    assert [f.__name__ for f in funcs] == ["sql_reward", *PLAIN_COMPONENTS] and "hallucinations" not in PLAIN_COMPONENTS
    assert weights == [1.0] + [0.0] * len(PLAIN_COMPONENTS)


def test_batch_shapes_and_metric_names(engine, demo_paths):
    computer = RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine)
    funcs, weights = make_reward_funcs(computer)
    assert [f.__name__ for f in funcs] == ["sql_reward", *DEFAULT_COMPONENTS]
    assert weights == [1.0] + [0.0] * len(DEFAULT_COMPONENTS)
    gt = {"sql": "SELECT count(*) FROM employees", "db_path": demo_paths["hr"]}
    prompts = [[{"role": "user", "content": "How many employees?"}]] * 4
    completions = [
        [
            {
                "role": "assistant",
                "content": "<think>a</think><answer>```sql\nSELECT count(*) FROM employees\n```</answer>",
            }
        ],
        [
            {
                "role": "assistant",
                "content": "<think>a</think><answer>```sql\nSELECT count(*) FROM departments\n```</answer>",
            }
        ],
        [{"role": "assistant", "content": "SELECT nope FROM employes"}],
        "plain text completion",
    ]
    out = {
        f.__name__: f(
            prompts=prompts, completions=completions, completion_ids=None, ground_truth=[gt] * 4, trainer_state=None
        )
        for f in funcs
    }
    assert all(len(v) == 4 and all(isinstance(x, float) for x in v) for v in out.values())
    assert out["acc"] == [1.0, 0.0, 0.0, 0.0]
    assert out["sql_reward"][0] == 1.0 and out["sql_reward"][0] > max(out["sql_reward"][1:])
    assert out["hallucinations"][2] >= 1.0


def test_unknown_component_rejected(engine):
    with pytest.raises(ValueError, match="unknown component"):
        make_reward_funcs(
            RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine), components=("nope",)
        )


def test_missing_ground_truth_gives_defined_rewards(engine):
    funcs, _ = make_reward_funcs(RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine))
    assert funcs[0](prompts=["p"], completions=["SELECT 1"]) == [0.0]


@pytest.mark.parametrize(
    "c,text", [("x", "x"), ([{"role": "assistant", "content": "y"}], "y"), ({"content": "z"}, "z"), (None, "")]
)
def test_completion_text(c, text):
    assert completion_text(c) == text


def test_batch_larger_than_the_cache(engine, demo_paths):
    from extensions.integrations.trl import BreakdownCache

    gt = {"sql": "SELECT count(*) FROM employees", "db_path": demo_paths["hr"]}
    cache = BreakdownCache(
        RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine), max_entries=3
    )
    completions = [f"SELECT count(*) FROM employees WHERE id < {i}" for i in range(10)] + [
        "SELECT count(*) FROM employees"
    ]
    out = cache.breakdowns(completions, [gt] * len(completions))
    assert [o["acc"] for o in out] == [0.0] * 10 + [1.0]
    assert cache.stats()["entries"] == 3


def test_cache_is_bounded_in_bytes(engine, demo_paths):
    from extensions.integrations.breakdown_cache import BreakdownCache

    gt = {"sql": "SELECT count(*) FROM employees", "db_path": demo_paths["hr"]}
    cache = BreakdownCache(
        RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine),
        max_entries=10_000,
        max_bytes=200_000,
    )
    long = [f"SELECT count(*) FROM employees -- {i} {'x' * 50_000}" for i in range(12)]
    out = cache.breakdowns(long, [gt] * len(long))
    assert [o["acc"] for o in out] == [1.0] * 12
    assert 1 <= cache.stats()["entries"] <= 4  # each entry holds a 50 KB key
    huge = "SELECT 1 -- " + "y" * 300_000  # larger than the whole budget: scored, never kept
    assert cache.breakdowns([huge], [gt])[0]["acc"] == 0.0


def test_repeated_pairs_are_scored_once(engine, demo_paths):
    from extensions.integrations.breakdown_cache import BreakdownCache

    gt = {"sql": "SELECT count(*) FROM employees", "db_path": demo_paths["hr"]}
    cache = BreakdownCache(RewardComputer(RewardConfig(enable_enhanced=True, baseline="arctic"), engine=engine))
    cache.breakdowns(["SELECT 1", "SELECT 1", "SELECT 2"], [gt, gt, gt])
    cache.breakdowns(["SELECT 1"], [dict(reversed(list(gt.items())))])  # same ground truth, other key order
    assert cache.stats() == {"entries": 2, "hits": 2, "misses": 2}


def test_config_mistake_raises_naming_the_key():
    from extensions.errors import ConfigError

    with pytest.raises(ConfigError, match="reward.gatng"):
        make_reward_funcs(overrides=["reward.gatng=always"])
    with pytest.raises(ConfigError, match="config file not found"):
        make_reward_funcs(config="/nonexistent.yaml")
