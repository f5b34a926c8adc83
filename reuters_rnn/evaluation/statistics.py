"""The statistics of a comparison: a mean's confidence interval over seeds, the t-test between two
models' seeds (paired by seed where they share them), the tests on the same test newswires
(reuters_rnn.evaluation.resampling), and the paired t-test of two settings scored on the same fits (the model
search's). Which model to use is reuters_rnn.evaluation.decision's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from reuters_rnn.evaluation.resampling import paired_bootstrap
from reuters_rnn.evaluation.scoring import METRICS
from reuters_rnn.schema.params import Params


def mean_interval(values: pd.Series, confidence: float) -> tuple[float, float]:
    """Student-t confidence interval of the mean; (nan, nan) for fewer than two runs."""
    if len(values) < 2:
        return np.nan, np.nan
    if values.std() == 0:  # identical runs: the interval collapses (scipy would say nan)
        return float(values.mean()), float(values.mean())
    low, high = stats.ttest_1samp(values, popmean=0).confidence_interval(confidence)
    return float(low), float(high)


def summarize(runs: pd.DataFrame, params: Params) -> pd.DataFrame:
    """One row per model or ensemble (its kind): accuracy mean, std and CI over seeds, published
    number, other means."""
    rows = []
    for model, group in runs.groupby("model", sort=False):
        low, high = mean_interval(group["accuracy"], params.report.confidence)
        published = params.report.published.get(model, np.nan)
        rows.append(
            {
                "model": model,
                "kind": "ensemble" if model in params.ensembles else "model",
                "seeds": len(group),
                "accuracy_mean": group["accuracy"].mean(),
                "accuracy_std": group["accuracy"].std(ddof=1) if len(group) > 1 else np.nan,
                "ci_low": low,
                "ci_high": high,
                "published": published,
                "diff_vs_published": group["accuracy"].mean() - published,
                **{f"{m}_mean": group[m].mean() for m in METRICS if m != "accuracy"},
                "weights": int(group["weights"].iloc[0]),
                "train_seconds_mean": group["train_seconds"].mean(),
                "ms_per_epoch_mean": group["ms_per_epoch"].mean(),
            }
        )
    return pd.DataFrame(rows)


def seed_test(a: pd.DataFrame, b: pd.DataFrame) -> tuple[str, float, float]:
    """B's accuracies against A's over seeds: the paired t-test where both have the same seeds
    (an ensemble's seed s holds its members' seed s), else Welch's; (test, t, p), t and p nan
    where either side has fewer than two runs or no spread."""
    acc_a, acc_b = a.set_index("seed")["accuracy"], b.set_index("seed")["accuracy"]
    shared = list(acc_a.index) == list(acc_b.index)
    name = "paired t" if shared else "Welch"
    if min(len(acc_a), len(acc_b)) < 2 or (acc_a.std() == 0 and acc_b.std() == 0):
        return name, np.nan, np.nan
    if shared:
        difference = acc_b - acc_a
        if difference.std() == 0:  # every seed moved alike: no doubt left (or no move)
            return (name, np.inf, 0.0) if difference.iloc[0] else (name, np.nan, np.nan)
        test = stats.ttest_rel(acc_b.to_numpy(), acc_a.to_numpy())
    else:
        test = stats.ttest_ind(acc_b, acc_a, equal_var=False)
    return name, float(test.statistic), float(test.pvalue)


def compare(
    runs: pd.DataFrame, params: Params, correct: dict[str, np.ndarray], tests: pd.DataFrame
) -> pd.DataFrame:
    """For each pair in report.comparisons: the test over seeds (seed_test), the paired
    bootstrap interval over the same newswires (`correct`: each model's (seeds, newswires)
    hits), and the seed-pooled paired p with its Holm adjustment from `tests`, the one
    family every test the report reads belongs to (reuters_rnn.evaluation.decision)."""
    alpha = 1 - params.report.confidence
    pooled = tests[tests["test"] == "pooled"]
    rows = []
    for a, b in params.report.comparisons:
        runs_a, runs_b = runs[runs["model"] == a], runs[runs["model"] == b]
        test, t, p = seed_test(runs_a, runs_b)
        pair = paired_bootstrap(correct[a], correct[b], params.report.confidence)
        read = pooled[
            ((pooled["a"] == a) & (pooled["b"] == b)) | ((pooled["a"] == b) & (pooled["b"] == a))
        ]
        rows.append(
            {
                "comparison": f"{b} vs {a}",
                "difference": runs_b["accuracy"].mean() - runs_a["accuracy"].mean(),
                "seed test": test,
                "t": t,
                "p_value": p,
                "outside_seed_noise": "n/a (need 2+ seeds)"
                if np.isnan(p)
                else ("yes" if p < alpha else "no"),
                "paired_low": pair["low"],
                "paired_high": pair["high"],
                "paired_p": pair["p"],
                "holm_p": float(read["holm_p"].iloc[0]),
                "outside_newswire_noise": "yes" if read["holm_p"].iloc[0] < alpha else "no",
            }
        )
    return pd.DataFrame(rows)


def paired(
    scores: list[float], reference: list[float], folds: int | None = None
) -> tuple[float, float]:
    """Mean difference of two trials over the same (seed, fold) fits, and the paired t-test's p.
    With `folds` (k-fold cross-validation, each fit trained on (k - 1) / k of the newswires), the
    variance is Nadeau and Bengio's corrected one, (1/n + 1/(k - 1)) * s²: the folds' training
    parts overlap, so the fits are not independent and the plain paired t-test is too sure."""
    a, b = np.asarray(scores), np.asarray(reference)
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"trials of {len(a)} and {len(b)} fits cannot be paired")
    difference = a - b
    if not difference.any():
        return 0.0, 1.0
    if folds is None:
        return float(difference.mean()), float(stats.ttest_rel(a, b).pvalue)
    n, spread = len(difference), difference.var(ddof=1)
    if spread == 0:  # every fit moved alike: no doubt left
        return float(difference.mean()), 0.0
    t = difference.mean() / np.sqrt((1 / n + 1 / (folds - 1)) * spread)
    return float(difference.mean()), float(2 * stats.t.sf(abs(t), n - 1))
