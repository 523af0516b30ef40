"""Statistics for held-out results: bootstrap intervals over prompts, and over prompts x seeds.

Every interval resamples per-prompt outcomes, which is why each results JSON keeps them.

* :func:`bootstrap_diff` — a paired bootstrap over prompts (after minus before on the same prompts).
* :func:`hierarchical_mean`, :func:`hierarchical_diff` — over prompts x seeds: resample seeds, then prompts
  within each seed (paired: both arms see the same resampled prompts). Percentile intervals of 0/1
  outcomes stay inside [0, 1]; with few seeds the seed level adds what spread the seeds show, and no
  Student-t with one or two degrees of freedom is involved.

>>> hierarchical_mean([[1, 0], [1, 1]])["mean"]
0.75
>>> bootstrap_diff([1, 0, 1], [0, 0, 1])["diff"]
0.333333
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

BOOTSTRAP_PROMPTS = "paired bootstrap over held-out prompts (percentile 95% CI, 5000 resamples)"
HIERARCHICAL = (
    "hierarchical bootstrap: resample seeds, then held-out prompts within each seed (paired: the same "
    "resampled prompts for both arms); percentile 95% CI, two-sided p = 2 x min(share <= 0, share >= 0), "
    "5000 resamples"
)


def bootstrap_diff(
    after: Sequence[float], before: Sequence[float], *, draws: int = 5000, seed: int = 0
) -> dict[str, object]:
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
    if len(per_seed) == 0 or len(per_seed[0]) == 0 or len({len(v) for v in per_seed}) != 1:
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


def hierarchical_diff(
    arm: Sequence[Sequence[float]], base: Sequence[Sequence[float]], *, draws: int = 5000, seed: int = 0
) -> dict[str, object]:
    """Paired difference ``arm - base`` over seeds and prompts: a hierarchical bootstrap of per-prompt differences.

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


CLUSTERED = (
    "cluster bootstrap: resample seeds, then {unit}s, then held-out prompts within each resampled {unit} "
    "(paired: both arms get the same resamples); percentile 95% CI, 5000 resamples. p: exact paired sign-flip "
    "test over {unit}s (each {unit}'s difference summed over seeds and prompts; all 2^k sign patterns, or "
    "20000 random ones past k = 16)"
)


def _members(clusters: Sequence[str]) -> list[Any]:
    import numpy as np

    order = list(dict.fromkeys(clusters))
    return [np.flatnonzero(np.asarray(clusters) == c) for c in order]


def _cluster_means(values: Any, members: list[Any], draws: int, seed: int) -> Any:
    """``draws`` bootstrap means of a ``(seeds, prompts)`` array: seeds, then clusters, then prompts within."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n_seeds = values.shape[0]
    out = np.empty(draws)
    for d in range(draws):
        rows = values[rng.integers(0, n_seeds, size=n_seeds)]
        picked = [members[c] for c in rng.integers(0, len(members), size=len(members))]
        cols = np.concatenate([m[rng.integers(0, len(m), size=len(m))] for m in picked])
        out[d] = rows[:, cols].mean()
    return out


def sign_flip_p(cluster_sums: Sequence[float], *, max_exact: int = 16, draws: int = 20000, seed: int = 0) -> float:
    """Two-sided p of a paired sign-flip (randomization) test on per-cluster summed differences.

    Under the null each cluster's difference is as likely to have either sign; p is the share of sign
    patterns whose total is at least as far from zero as the observed one (all 2^k patterns when
    ``k <= max_exact``, else ``draws`` random ones, the observed pattern included).

    Args:
        cluster_sums: one summed paired difference per cluster.
        max_exact: enumerate every pattern up to this many clusters.
        draws: random patterns past it.
        seed: the random patterns' seed.

    Returns:
        The p-value in (0, 1].

    >>> sign_flip_p([1, 1, 1])
    0.25
    >>> sign_flip_p([0, 0])
    1.0
    """
    import itertools

    import numpy as np

    x = np.asarray(cluster_sums, dtype=float)
    observed = abs(x.sum())
    if len(x) <= max_exact:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(x))))
    else:
        rng = np.random.default_rng(seed)
        signs = np.vstack([np.ones(len(x)), rng.choice((1.0, -1.0), size=(draws - 1, len(x)))])
    totals = np.abs(signs @ x)
    return float(np.mean(totals >= observed - 1e-9))


def clustered_mean(
    per_seed: Sequence[Sequence[float]], clusters: Sequence[str], *, draws: int = 5000, seed: int = 0
) -> dict[str, object]:
    """Mean over seeds and prompts with a cluster-bootstrap 95% interval (seeds, clusters, prompts).

    Args:
        per_seed: per seed, one value per held-out prompt (same prompts in the same order).
        clusters: each prompt's cluster (its database, or its skeleton group).
        draws: bootstrap resamples.
        seed: resampling seed.

    Returns:
        ``{"mean", "ci95": [lo, hi]}``.

    >>> clustered_mean([[1, 1, 0, 0]], ["a", "a", "b", "b"])["mean"]
    0.5
    """
    import numpy as np

    _check(per_seed)
    means = _cluster_means(np.asarray(per_seed, dtype=float), _members(clusters), draws, seed)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"mean": round(float(np.mean(per_seed)), 6), "ci95": [round(float(lo), 6), round(float(hi), 6)]}


def clustered_diff(
    arm: Sequence[Sequence[float]],
    base: Sequence[Sequence[float]],
    clusters: Sequence[str],
    *,
    draws: int = 5000,
    seed: int = 0,
) -> dict[str, object]:
    """Paired difference ``arm - base`` with a cluster-bootstrap interval, a sign-flip p and the design effect.

    Args:
        arm: per seed, one value per held-out prompt.
        base: the baseline on the same seeds and prompts, in the same order.
        clusters: each prompt's cluster id.
        draws: bootstrap resamples.
        seed: resampling seed.

    Returns:
        ``{"diff", "ci95", "p", "clusters", "design_effect", "discordant": [arm only, base only]}``; the
        design effect is the cluster bootstrap's variance over the variance of a bootstrap that treats every
        (seed, prompt) cell as independent.

    >>> r = clustered_diff([[1, 1, 0, 0]], [[0, 1, 0, 0]], ["a", "a", "b", "b"])
    >>> r["diff"], r["p"], r["discordant"]
    (0.25, 1.0, [1, 0])
    """
    import numpy as np

    _check(arm)
    a, b = np.asarray(arm, dtype=float), np.asarray(base, dtype=float)
    if a.shape != b.shape or a.shape[1] != len(clusters):
        raise ValueError("arm, baseline and clusters need the same seeds and prompts")
    diffs, members = a - b, _members(clusters)
    means = _cluster_means(diffs, members, draws, seed)
    lo, hi = np.percentile(means, [2.5, 97.5])
    iid = np.random.default_rng(seed).choice(diffs.ravel(), size=(draws, diffs.size)).mean(axis=1)
    deff = float(np.var(means) / np.var(iid)) if np.var(iid) > 0 else None
    sums = [float(diffs[:, m].sum()) for m in members]
    return {
        "diff": round(float(diffs.mean()), 6),
        "ci95": [round(float(lo), 6), round(float(hi), 6)],
        "p": round(sign_flip_p(sums), 6),
        "clusters": len(members),
        "design_effect": None if deff is None else round(deff, 3),
        "discordant": [int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())],
    }
