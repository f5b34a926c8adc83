"""Tests of two models on the same held-out newswires, all SciPy's: the seed-pooled difference
with its bootstrap interval (scipy.stats.bootstrap, BCa) and its paired t-test p over the
newswires (scipy.stats.ttest_rel); McNemar's exact test of one trained model against another
(scipy.stats.binomtest); Holm's correction for reading several candidates on the same test split.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

RESAMPLES = 10_000


def paired_bootstrap(
    correct_a: np.ndarray, correct_b: np.ndarray, confidence: float, seed: int = 0
) -> dict[str, float]:
    """B's accuracy minus A's on the same newswires, seeds pooled.

    `correct_*` are (seeds, newswires) booleans: each row one seed's hits (a baseline has one
    row). A newswire scores the share of seeds that got it right, so the seeds are pooled and the
    newswires, the larger source of noise on a test split, are resampled. Returns the
    difference, its BCa bootstrap interval (10,000 resamples of the newswires) and the two-sided
    p of "no difference" (pooled_p).
    """
    a, b = np.atleast_2d(correct_a).mean(axis=0), np.atleast_2d(correct_b).mean(axis=0)
    if len(a) != len(b):
        raise ValueError(f"cannot pair {len(a)} and {len(b)} newswires")
    observed = float(np.mean(b - a))
    if not np.any(b - a):
        return {"difference": 0.0, "low": 0.0, "high": 0.0, "p": 1.0}
    rng = np.random.default_rng(seed)
    interval = stats.bootstrap(
        (b - a,),
        np.mean,
        n_resamples=RESAMPLES,
        confidence_level=confidence,
        method="BCa",
        rng=rng,
    ).confidence_interval
    p = pooled_p(correct_a, correct_b)  # the same p the decision reads
    return {
        "difference": observed,
        "low": float(interval.low),
        "high": float(interval.high),
        "p": float(p),
    }


def pooled_p(correct_a: np.ndarray, correct_b: np.ndarray) -> float:
    """The two-sided p of "no difference" on the same newswires, seeds pooled: the paired
    t-test of each newswire's two scores (the share of seeds that got it right). Analytic, so a
    p far below 1 / 10,000 survives a Holm family of hundreds of tests, which a permutation p
    of 10,000 resamples cannot; on hundreds of newswires it agrees with the permutation test and,
    with one seed each, with McNemar's (tests/test_report.py)."""
    a, b = np.atleast_2d(correct_a).mean(axis=0), np.atleast_2d(correct_b).mean(axis=0)
    if len(a) != len(b):
        raise ValueError(f"cannot pair {len(a)} and {len(b)} newswires")
    difference = b - a
    if not difference.any():
        return 1.0
    if np.all(difference == difference[0]):  # every newswire moved alike: no doubt left
        return 0.0
    return float(stats.ttest_rel(b, a).pvalue)


def mcnemar(hits_a: np.ndarray, hits_b: np.ndarray) -> float:
    """McNemar's exact test of two trained models on the same newswires: the two-sided binomial
    test of the newswires exactly one of them gets right (1.0 when there are none)."""
    only_a = int(np.sum(hits_a & ~hits_b))
    only_b = int(np.sum(hits_b & ~hits_a))
    if only_a + only_b == 0:
        return 1.0
    return float(stats.binomtest(only_b, only_a + only_b, 0.5).pvalue)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment: each p as it stands against the family of tests read on the
    same data (reject where the adjusted p < alpha: the family-wise error stays at alpha)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    scaled = (len(p) - np.arange(len(p))) * p[order]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted
