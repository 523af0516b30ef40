"""Statistics for held-out results: means with 95% intervals and paired comparisons.

* :func:`mean_ci` — mean and a two-sided 95% Student-t interval over runs (seeds).
* :func:`sign_flip_test` — the exact paired sign-flip (permutation) test of a mean difference:
  under the null each paired difference is as likely to be positive as negative, so all
  ``2**n`` sign assignments are enumerated (Monte Carlo beyond ``max_exact``).
* :func:`paired` — difference, its t interval and the sign-flip p-value, for arm vs baseline on the same seeds.
* :func:`bootstrap_diff` — a paired bootstrap interval over prompts (after minus before on the same prompts).
* :func:`hierarchical_mean`, :func:`hierarchical_diff` — over prompts x seeds: resample seeds, then prompts
  (the ablation's intervals; per-prompt outcomes are what they resample, so they stay in every results JSON).

>>> mean_ci([1.0, 2.0, 3.0])["mean"]
2.0
>>> sign_flip_test([1.0, 1.0, 1.0])
0.25
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from typing import Any

METHOD = "exact paired sign-flip permutation test (two-sided) on per-seed differences; 95% CI: Student t"


def mean_ci(values: Sequence[float], level: float = 0.95) -> dict[str, object]:
    """Mean and Student-t interval of ``values``.

    Args:
        values: one number per run.
        level: interval coverage.

    Returns:
        ``{"mean", "ci95": [lo, hi]}``; the interval is ``[mean, mean]`` for fewer than two values.

    >>> mean_ci([0.5])
    {'mean': 0.5, 'ci95': [0.5, 0.5]}
    """
    from scipy import stats

    n = len(values)
    if n == 0:
        return {"mean": None, "ci95": [None, None]}
    m = sum(values) / n
    if n < 2:
        return {"mean": m, "ci95": [m, m]}
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return {"mean": m, "ci95": [m - half, m + half]}


def sign_flip_test(diffs: Sequence[float], *, max_exact: int = 16, draws: int = 20000, seed: int = 0) -> float:
    """Two-sided p-value of the paired sign-flip test for mean(diffs) == 0.

    Args:
        diffs: paired differences (arm minus baseline, one per seed).
        max_exact: enumerate all sign patterns up to this many differences.
        draws: random sign patterns beyond ``max_exact``.
        seed: seed of the random patterns.

    Returns:
        The share of sign patterns whose |mean| is at least the observed one (1.0 for no data).

    >>> sign_flip_test([0.0, 0.0])
    1.0
    """
    n = len(diffs)
    if n == 0:
        return 1.0
    observed = abs(sum(diffs)) - 1e-12
    if n <= max_exact:
        patterns = itertools.product((1, -1), repeat=n)
        hits = sum(abs(sum(s * d for s, d in zip(p, diffs))) >= observed for p in patterns)
        return hits / 2**n
    rng = random.Random(seed)
    hits = sum(abs(sum(d if rng.random() < 0.5 else -d for d in diffs)) >= observed for _ in range(draws))
    return (hits + 1) / (draws + 1)


def paired(arm: Sequence[float], baseline: Sequence[float]) -> dict[str, object]:
    """Mean paired difference ``arm - baseline`` (same seeds, same order), its t interval and sign-flip p.

    Args:
        arm: one value per seed.
        baseline: the baseline's value on the same seeds.

    Returns:
        ``{"diff", "ci95": [lo, hi], "p"}``.

    >>> paired([0.6, 0.7], [0.5, 0.5])["diff"]
    0.15
    """
    if len(arm) != len(baseline):
        raise ValueError("paired samples must have the same length")
    diffs = [a - b for a, b in zip(arm, baseline)]
    ci = mean_ci(diffs)
    return {"diff": None if ci["mean"] is None else round(float(ci["mean"]), 10), "ci95": ci["ci95"], "p": sign_flip_test(diffs)}


BOOTSTRAP_PROMPTS = "paired bootstrap over held-out prompts (percentile 95% CI, 5000 resamples)"
HIERARCHICAL = ("hierarchical bootstrap: resample seeds, then held-out prompts within each seed (paired: the same "
                "resampled prompts for both arms); percentile 95% CI, two-sided p = 2 x min(share <= 0, share >= 0), "
                "5000 resamples")


def bootstrap_diff(after: Sequence[float], before: Sequence[float], *, draws: int = 5000, seed: int = 0) -> dict[str, object]:
    """Paired bootstrap over prompts of ``mean(after) - mean(before)`` (same prompts, same order).

    Args:
        after: per-prompt values after training.
        before: per-prompt values before, on the same prompts.
        draws: bootstrap resamples.
        seed: resampling seed.

    Returns:
        ``{"diff", "ci95": [lo, hi], "p"}`` (percentile interval; ``p`` as in :func:`hierarchical_diff`).

    >>> bootstrap_diff([1, 1], [0, 0])
    {'diff': 1.0, 'ci95': [1.0, 1.0], 'p': 0.0}
    """
    if not after or len(after) != len(before):
        raise ValueError("need paired, non-empty samples")
    return hierarchical_diff([list(after)], [list(before)], draws=draws, seed=seed)


def _resample(per_seed: list[Any], draws: int, seed: int) -> Any:
    """``draws`` hierarchical-bootstrap means of a ``(seeds, prompts)`` array: seeds, then prompts per seed."""
    import numpy as np

    values = np.asarray(per_seed, dtype=float)
    n_seeds, n_prompts = values.shape
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, n_seeds, size=(draws, n_seeds))
    prompts = rng.integers(0, n_prompts, size=(draws, n_seeds, n_prompts))
    return values[seeds[:, :, None], prompts].mean(axis=(1, 2))


def _check(per_seed: Sequence[Sequence[float]]) -> None:
    if not per_seed or not per_seed[0] or len({len(v) for v in per_seed}) != 1:
        raise ValueError("need one non-empty list per seed, all of the same length (the same prompts)")


def hierarchical_mean(per_seed: Sequence[Sequence[float]], *, draws: int = 5000, seed: int = 0) -> dict[str, object]:
    """Mean over seeds and prompts with a hierarchical bootstrap 95% interval (seeds, then prompts).

    Percentile intervals of means of 0/1 values stay inside [0, 1].

    Args:
        per_seed: per seed, one value per held-out prompt (same prompts in the same order).
        draws: bootstrap resamples.
        seed: resampling seed.

    Returns:
        ``{"mean", "ci95": [lo, hi]}``.

    >>> hierarchical_mean([[1, 0, 1, 0], [1, 1, 0, 0]])["mean"]
    0.5
    >>> hierarchical_mean([[1, 1], [1, 1]])
    {'mean': 1.0, 'ci95': [1.0, 1.0]}
    """
    import numpy as np

    _check(per_seed)
    means = _resample([list(v) for v in per_seed], draws, seed)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"mean": float(np.mean(per_seed)), "ci95": [float(lo), float(hi)]}


def hierarchical_diff(arm: Sequence[Sequence[float]], base: Sequence[Sequence[float]], *, draws: int = 5000,
                      seed: int = 0) -> dict[str, object]:
    """Paired difference ``arm - base`` over seeds and prompts, by a hierarchical bootstrap of the per-prompt differences.

    Args:
        arm: per seed, one value per held-out prompt.
        base: the baseline on the same seeds and prompts, in the same order.
        draws: bootstrap resamples.
        seed: resampling seed.

    Returns:
        ``{"diff", "ci95": [lo, hi], "p"}``: the mean difference, its percentile interval and the two-sided
        bootstrap p-value ``2 x min(share of resampled means <= 0, share >= 0)``, capped at 1.

    >>> hierarchical_diff([[1, 1, 0]], [[0, 1, 0]])["diff"]
    0.333333
    >>> hierarchical_diff([[0, 1]], [[0, 1]])
    {'diff': 0.0, 'ci95': [0.0, 0.0], 'p': 1.0}
    """
    import numpy as np

    _check(arm)
    if np.shape(arm) != np.shape(base):
        raise ValueError("arm and baseline need the same seeds and prompts")
    diffs = (np.asarray(arm, dtype=float) - np.asarray(base, dtype=float)).tolist()
    means = _resample(diffs, draws, seed)
    lo, hi = np.percentile(means, [2.5, 97.5])
    p = min(1.0, 2 * min(float(np.mean(means <= 0)), float(np.mean(means >= 0))))
    return {"diff": round(float(np.mean(diffs)), 6), "ci95": [round(float(lo), 6), round(float(hi), 6)], "p": p}
