"""Statistics for held-out results: means with 95% intervals and paired comparisons.

* :func:`mean_ci` — mean and a two-sided 95% Student-t interval over runs (seeds).
* :func:`sign_flip_test` — the exact paired sign-flip (permutation) test of a mean difference:
  under the null each paired difference is as likely to be positive as negative, so all
  ``2**n`` sign assignments are enumerated (Monte Carlo beyond ``max_exact``).
* :func:`paired` — difference, its t interval and the sign-flip p-value, for arm vs baseline on the same seeds.
* :func:`bootstrap_diff` — a paired bootstrap interval over prompts (after minus before on the same prompts).

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


def bootstrap_diff(after: Sequence[float], before: Sequence[float], *, draws: int = 5000, seed: int = 0) -> dict[str, object]:
    """Paired bootstrap over prompts of ``mean(after) - mean(before)`` (same prompts, same order).

    Args:
        after: per-prompt values after training.
        before: per-prompt values before, on the same prompts.
        draws: bootstrap resamples.
        seed: resampling seed.

    Returns:
        ``{"diff", "ci95": [lo, hi]}`` (2.5% and 97.5% percentiles).

    >>> bootstrap_diff([1, 1], [0, 0])
    {'diff': 1.0, 'ci95': [1.0, 1.0]}
    """
    n = len(after)
    if n == 0 or n != len(before):
        raise ValueError("need paired, non-empty samples")
    diffs = [a - b for a, b in zip(after, before)]
    rng = random.Random(seed)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(draws))
    return {"diff": sum(diffs) / n, "ci95": [means[int(0.025 * draws)], means[int(0.975 * draws) - 1]]}
