"""The bootstrap statistics of the demo and the ablation, on inputs with known answers."""

import json
import os

import pytest

from extensions.training.stats import (
    HIERARCHICAL,
    bootstrap_diff,
    hierarchical_diff,
    hierarchical_mean,
)

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "training", "per_prompt_two_arms.json")


def test_bootstrap_interval_contains_the_difference_and_is_seeded():
    after, before = [1, 1, 0, 1, 0, 1, 1, 0] * 5, [0, 1, 0, 0, 0, 1, 0, 0] * 5
    r = bootstrap_diff(after, before, seed=3)
    assert r["diff"] == pytest.approx(0.375)
    assert r["ci95"][0] < 0.375 < r["ci95"][1]
    assert r["ci95"][0] > 0 and r["p"] < 0.05
    assert bootstrap_diff(after, before, seed=3) == r
    with pytest.raises(ValueError):
        bootstrap_diff([], [])
    with pytest.raises(ValueError):
        bootstrap_diff([1, 0], [1])


def test_hierarchical_interval_of_fractions_stays_in_unit_range():
    per_seed = [[1] * 39 + [0], [1] * 40, [1] * 38 + [0, 0]]
    r = hierarchical_mean(per_seed)
    assert r["mean"] == pytest.approx(117 / 120)
    assert 0.0 <= r["ci95"][0] <= r["mean"] <= r["ci95"][1] <= 1.0


def test_seed_spread_widens_the_interval():
    # Same prompts and overall mean; in the second case the seeds disagree with each other.
    agree = [[1, 0] * 20, [0, 1] * 20, [1, 0] * 20]
    disagree = [[1] * 40, [0] * 40, [1, 0] * 20]
    a, d = hierarchical_mean(agree), hierarchical_mean(disagree)
    assert a["mean"] == d["mean"] == 0.5
    assert d["ci95"][1] - d["ci95"][0] > 2 * (a["ci95"][1] - a["ci95"][0])


def test_paired_difference_recomputes_from_a_results_file():
    with open(FIXTURE) as fh:
        doc = json.load(fh)
    arm, base = doc["per_prompt"]["all"], doc["per_prompt"]["baseline"]
    r = hierarchical_diff([arm[s] for s in sorted(arm)], [base[s] for s in sorted(base)])
    diffs = [a - b for s in sorted(arm) for a, b in zip(arm[s], base[s])]
    assert r["diff"] == pytest.approx(sum(diffs) / len(diffs), abs=1e-6)
    assert r["ci95"][0] <= r["diff"] <= r["ci95"][1]
    assert r["ci95"][1] < 0 and r["p"] < 0.05  # the fixture's arm loses on every seed
    assert hierarchical_diff([[1, 0]], [[1, 0]]) == {"diff": 0.0, "ci95": [0.0, 0.0], "p": 1.0}
    assert "resample seeds, then" in HIERARCHICAL


@pytest.mark.parametrize("arm,base", [([], []), ([[1, 0], [1]], [[1, 0], [1]]), ([[1, 0]], [[1, 0], [1, 0]])])
def test_mismatched_shapes_are_refused(arm, base):
    with pytest.raises(ValueError):
        hierarchical_diff(arm, base)


def test_sign_flip_p_is_exact_on_small_cluster_counts():
    from extensions.training.stats import sign_flip_p

    # 4 clusters all positive: only the all-plus and all-minus patterns reach |sum| = 4 -> 2/16.
    assert sign_flip_p([1, 1, 1, 1]) == pytest.approx(2 / 16)
    assert sign_flip_p([3, -3]) == 1.0
    assert 0 < sign_flip_p(list(range(1, 25))) < 0.001  # past 16 clusters: random patterns, the observed included


def test_clustered_interval_is_wider_when_clusters_move_together():
    from extensions.training.stats import clustered_diff

    # The same 40 discordant prompts, spread over 10 clusters or all in one: clustering must widen the interval.
    spread_ = [[1 if i % 10 < 2 else 0 for i in range(200)]]
    lumped = [[1 if i < 40 else 0 for i in range(200)]]
    base = [[0] * 200]
    clusters = [f"c{i // 20}" for i in range(200)]
    a, b = clustered_diff(spread_, base, clusters), clustered_diff(lumped, base, clusters)
    assert a["diff"] == b["diff"] == pytest.approx(0.2)
    assert (b["ci95"][1] - b["ci95"][0]) > 2 * (a["ci95"][1] - a["ci95"][0])
    assert b["design_effect"] > a["design_effect"]
    assert a["discordant"] == [40, 0] and a["clusters"] == 10


def test_clustered_diff_matches_a_plain_reimplementation():
    import numpy as np

    from extensions.training.stats import clustered_diff

    rng = np.random.default_rng(5)
    arm, base = rng.integers(0, 2, (3, 30)).tolist(), rng.integers(0, 2, (3, 30)).tolist()
    clusters = [f"d{i % 4}" for i in range(30)]
    got = clustered_diff(arm, base, clusters, draws=300, seed=9)
    # Independent recomputation: same generator, same order of draws (seeds, clusters, prompts within).
    d = np.asarray(arm, float) - np.asarray(base, float)
    groups = [[i for i in range(30) if clusters[i] == c] for c in dict.fromkeys(clusters)]
    r, means = np.random.default_rng(9), []
    for _ in range(300):
        rows = d[r.integers(0, 3, size=3)]
        picked = [groups[c] for c in r.integers(0, len(groups), size=len(groups))]
        cols = [g[j] for g in picked for j in r.integers(0, len(g), size=len(g))]
        means.append(rows[:, cols].mean())
    lo, hi = np.percentile(means, [2.5, 97.5])
    assert got["ci95"] == [round(float(lo), 6), round(float(hi), 6)]
    assert got["diff"] == pytest.approx(d.mean(), abs=1e-6)
