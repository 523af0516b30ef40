"""The statistics of the ablation and the demo on inputs with known answers."""

import pytest

from extensions.training.stats import bootstrap_diff, mean_ci, paired, sign_flip_test


def test_mean_ci_matches_the_t_interval():
    # mean 2, sd 1, n 3: half-width = t(0.975, 2) * 1 / sqrt(3) = 4.302653 / 1.732051 = 2.484138
    r = mean_ci([1.0, 2.0, 3.0])
    assert r["mean"] == 2.0
    assert r["ci95"] == pytest.approx([2.0 - 2.484138, 2.0 + 2.484138], abs=1e-5)


def test_mean_ci_of_one_value_and_of_none():
    assert mean_ci([0.25]) == {"mean": 0.25, "ci95": [0.25, 0.25]}
    assert mean_ci([]) == {"mean": None, "ci95": [None, None]}


@pytest.mark.parametrize(
    "diffs,p",
    [
        ([1.0, 1.0, 1.0], 2 / 8),  # only all-plus and all-minus reach |sum| = 3
        ([1.0, 1.0, 1.0, 1.0, 1.0], 2 / 32),
        ([0.0, 0.0], 1.0),
        ([2.0, -1.0, 1.0], 6 / 8),  # signed sums 2,0,4,2,-2,-4,0,-2: six reach |2|
    ],
)
def test_sign_flip_exact_p(diffs, p):
    assert sign_flip_test(diffs) == pytest.approx(p)


def test_sign_flip_monte_carlo_beyond_exact_limit():
    p = sign_flip_test([1.0] * 20, max_exact=16, draws=2000)
    assert p < 0.01


def test_paired_difference_and_length_check():
    r = paired([0.6, 0.7, 0.8], [0.5, 0.5, 0.5])
    assert r["diff"] == pytest.approx(0.2)
    assert r["ci95"][0] < 0.2 < r["ci95"][1]
    assert r["p"] == pytest.approx(0.25)
    with pytest.raises(ValueError):
        paired([1.0], [1.0, 2.0])


def test_bootstrap_interval_contains_the_difference_and_is_seeded():
    after, before = [1, 1, 0, 1, 0, 1, 1, 0] * 5, [0, 1, 0, 0, 0, 1, 0, 0] * 5
    r = bootstrap_diff(after, before, seed=3)
    assert r["diff"] == pytest.approx(0.375)
    assert r["ci95"][0] < 0.375 < r["ci95"][1]
    assert bootstrap_diff(after, before, seed=3) == r
    with pytest.raises(ValueError):
        bootstrap_diff([], [])
