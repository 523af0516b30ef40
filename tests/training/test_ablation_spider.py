"""The committed cross-database ablation: its schema, an independent recomputation, and the default it chose."""

import itertools
import json
import os

import numpy as np
import pytest

from extensions.config import RewardConfig, load_config
from extensions.data.spider_split import HELDOUT_DBS, TRAIN_DBS
from extensions.training import ablation_report

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULTS = os.path.join(ROOT, "docs", "results")
JSON = os.path.join(RESULTS, "ablation_spider.json")
FOLDER = os.path.join(RESULTS, "ablation_spider")


@pytest.fixture(scope="module")
def doc():
    assert os.path.exists(JSON), "docs/results/ablation_spider.json is missing: the docs quote it"
    with open(JSON) as fh:
        return json.load(fh)


def test_the_split_is_the_fixed_cross_database_one(doc):
    assert doc["split"]["train_dbs"] == list(TRAIN_DBS) and doc["split"]["heldout_dbs"] == list(HELDOUT_DBS)
    assert not set(doc["split"]["train_dbs"]) & set(doc["split"]["heldout_dbs"])
    assert len(doc["prompt_db_ids"]) == len(doc["prompt_ids"]) == doc["config"]["heldout_n"] == 380
    assert set(doc["prompt_db_ids"]) == set(HELDOUT_DBS)
    assert doc["cluster_unit"] == "database"


def test_every_result_keeps_its_outcomes_and_provenance(doc):
    for arm, seeds in doc["per_prompt"].items():
        for seed, cells in seeds.items():
            assert len(cells["exec_match"]) == len(cells["hallucinated"]) == len(doc["prompt_ids"])
            prov = doc["provenance"][arm][seed]
            assert len(prov["commit"]) == 40 and prov["dirty"] is False and prov["config_hash"]
    commits = {p["commit"] for seeds in doc["provenance"].values() for p in seeds.values()}
    assert len(commits) == 1


def _independent_cluster_bootstrap(arm, base, clusters, draws=5000, seed=0):
    """The documented method written out again: seeds, then databases, then questions within each database."""
    d = np.asarray(arm, float) - np.asarray(base, float)
    groups = [[i for i, c in enumerate(clusters) if c == k] for k in dict.fromkeys(clusters)]
    rng, means = np.random.default_rng(seed), []
    for _ in range(draws):
        rows = d[rng.integers(0, d.shape[0], size=d.shape[0])]
        picked = [groups[c] for c in rng.integers(0, len(groups), size=len(groups))]
        cols = [g[j] for g in picked for j in rng.integers(0, len(g), size=len(g))]
        means.append(rows[:, cols].mean())
    return [round(float(x), 6) for x in np.percentile(means, [2.5, 97.5])]


def test_progress_names_exactly_the_finished_runs(doc):
    prog = doc["progress"]
    assert prog["planned"] == {arm: doc["config"]["seeds"] for arm in doc["config"]["arms"]}
    for arm, seeds in prog["finished"].items():
        assert [int(s) for s in doc["per_prompt"].get(arm, {})] == seeds
    assert prog["complete"] == (prog["finished"] == prog["planned"])


def test_the_paired_intervals_recompute_from_the_per_prompt_lists(doc):
    per = doc["per_prompt"]
    base = set(per.get("baseline", {}))
    assert {arm for arm, seeds in per.items() if arm != "baseline" and base & set(seeds)} == set(
        doc["paired_vs_baseline"]
    )
    for arm, cell in doc["paired_vs_baseline"].items():
        seeds = [str(s) for s in cell["seeds"]]
        a = [per[arm][s]["exec_match"] for s in seeds]
        b = [per["baseline"][s]["exec_match"] for s in seeds]
        assert cell["diff"] == pytest.approx(float(np.mean(np.subtract(a, b))), abs=1e-6)
        assert cell["ci95"] == _independent_cluster_bootstrap(a, b, doc["prompt_db_ids"])
        assert cell["cluster"] == "database" and cell["clusters"] == len(HELDOUT_DBS)


def test_the_seed_level_comparisons_recompute_from_the_per_seed_values(doc):
    base = doc["arms"]["baseline"]
    checked = 0
    for arm, cells in doc["seed_level_vs_baseline"].items():
        assert cells["cluster"] == "seed" and "sign-flip" in cells["method"]
        res = doc["arms"][arm]
        for key in ablation_report.SEED_LEVEL_METRICS:
            if key not in cells:
                continue
            c = cells[key]
            d = [
                res["per_seed"][key][res["seeds"].index(s)] - base["per_seed"][key][base["seeds"].index(s)]
                for s in c["seeds"]
            ]
            assert (c["higher"], c["lower"]) == (sum(x > 0 for x in d), sum(x < 0 for x in d))
            totals = [abs(float(np.dot(signs, d))) for signs in itertools.product((1, -1), repeat=len(d))]
            assert c["p"] == pytest.approx(np.mean([t >= abs(sum(d)) - 1e-9 for t in totals]))
            checked += 1
    assert checked >= 2 and doc["seed_level_vs_baseline"]["all"]["syntax_error_rate"]["seeds"] == base["seeds"]


def test_the_committed_json_is_what_the_committed_runs_collect_to(doc):
    again = ablation_report.collect(FOLDER)
    for key in (
        "per_prompt",
        "paired_vs_baseline",
        "seed_level_vs_baseline",
        "verdict",
        "split",
        "prompt_ids",
        "provenance",
    ):
        assert again[key] == doc[key], key


def test_the_shipped_default_follows_the_verdict(doc):
    verdict = doc["verdict"]
    shipped_shaping = RewardConfig().enable_enhanced
    training_configs = [load_config(os.path.join(ROOT, "configs", f"{n}.yaml")) for n in ("train_24gb", "verl_8gpu")]
    if verdict["default"] == "plain":
        assert shipped_shaping is False
        assert [c.reward.enable_enhanced for c in training_configs] == [False, False]
    elif verdict["default"] == "shaped":
        assert shipped_shaping is True
        assert [c.reward.enable_enhanced for c in training_configs] == [True, True]
    else:
        assert verdict["default"] is None
        assert min(len(s) for s in doc["progress"]["finished"].values()) < ablation_report.MIN_SEEDS
