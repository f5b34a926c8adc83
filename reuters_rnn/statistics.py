"""The statistics of a comparison: a mean's confidence interval over seeds, Welch's t-test between
two models' seeds, the tests on the same test newswires (reuters_rnn.resampling), the best model
against the best baseline, and the paired t-test of two settings scored on the same fits (the
model search's).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from reuters_rnn.params import Params
from reuters_rnn.resampling import holm, mcnemar, paired_bootstrap
from reuters_rnn.scoring import METRICS


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


def welch(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    """Welch's t and p for b vs a; nan where either side has fewer than two runs or no spread."""
    if min(len(a), len(b)) < 2 or (a.std() == 0 and b.std() == 0):
        return np.nan, np.nan
    test = stats.ttest_ind(b, a, equal_var=False)
    return float(test.statistic), float(test.pvalue)


def compare(runs: pd.DataFrame, params: Params, correct: dict[str, np.ndarray]) -> pd.DataFrame:
    """For each pair in report.comparisons: Welch's t-test on held-out accuracy over seeds, and
    the paired bootstrap over the same newswires (`correct`: each model's (seeds, newswires)
    hits)."""
    alpha = 1 - params.report.confidence
    rows = []
    for a, b in params.report.comparisons:
        acc_a = runs.loc[runs["model"] == a, "accuracy"]
        acc_b = runs.loc[runs["model"] == b, "accuracy"]
        t, p = welch(acc_a, acc_b)
        pair = paired_bootstrap(correct[a], correct[b], params.report.confidence)
        rows.append(
            {
                "comparison": f"{b} vs {a}",
                "difference": acc_b.mean() - acc_a.mean(),
                "welch_t": t,
                "p_value": p,
                "outside_seed_noise": "n/a (need 2+ seeds)"
                if np.isnan(p)
                else ("yes" if p < alpha else "no"),
                "paired_low": pair["low"],
                "paired_high": pair["high"],
                "paired_p": pair["p"],
                "outside_newswire_noise": "yes" if pair["p"] < alpha else "no",
            }
        )
    return pd.DataFrame(rows)


def shipped_tests(models: list[str], base: str, correct: dict[str, np.ndarray], confidence: float):
    """Each model against the baseline `base` as a team would ship it: seeds pooled (the paired
    test's p) and each seed's trained model alone (McNemar's exact test), every p Holm-adjusted
    over the models read on the test split. (pooled, per-seed) adjusted p, by model."""
    pooled = [paired_bootstrap(correct[base], correct[m], confidence)["p"] for m in models]
    seeds = [[mcnemar(correct[base][0], hits) for hits in correct[m]] for m in models]
    widest = max(len(row) for row in seeds)
    per_seed = np.full((len(models), widest), np.nan)
    for i, row in enumerate(seeds):
        per_seed[i, : len(row)] = row
    for column in range(widest):
        present = ~np.isnan(per_seed[:, column])
        per_seed[present, column] = holm(per_seed[present, column])
    adjusted = holm(pooled)
    return {m: (adjusted[i], per_seed[i][~np.isnan(per_seed[i])]) for i, m in enumerate(models)}


def best_vs_baseline(
    summary: pd.DataFrame,
    runs: pd.DataFrame,
    baselines: pd.DataFrame,
    params: Params,
    correct: dict[str, np.ndarray],
) -> str:
    """What a reader can act on: the best model or ensemble against the best baseline, on seed noise
    (a one-sample t-test), on the same newswires (the paired tests, seeds pooled), and as shipped
    (McNemar's exact test per seed), the last two Holm-corrected for every model read."""
    if summary.empty or baselines.empty:
        return ""
    best = summary.loc[summary["accuracy_mean"].idxmax()]
    base = baselines.loc[baselines["accuracy_mean"].idxmax()]
    accuracies = runs.loc[runs["model"] == best["model"], "accuracy"]
    diff = best["accuracy_mean"] - base["accuracy_mean"]
    alpha, confidence = 1 - params.report.confidence, params.report.confidence
    verdict = "with one seed, seed noise cannot be judged"
    if len(accuracies) > 1 and accuracies.std() > 0:
        p = float(stats.ttest_1samp(accuracies, popmean=base["accuracy_mean"]).pvalue)
        verdict = (
            f"{'outside' if p < alpha else 'inside'} seed noise (one-sample t-test of the "
            f"{len(accuracies)} seeds against the baseline, p = {p:.4f})"
        )
    pair = paired_bootstrap(correct[base["model"]], correct[best["model"]], confidence)
    models = list(summary["model"])
    pooled, seeds = shipped_tests(models, base["model"], correct, confidence)[best["model"]]
    shipped = ", ".join(f"{p:.4f}" for p in seeds)
    word, gap = ("beats", f" by {diff:+.4f}") if diff > 0 else ("trails", f" by {-diff:.4f}")
    if round(diff, 4) == 0:
        word, gap = "equals", ""
    return (
        f"Best {best['kind']}: **{best['model']}** ({best['accuracy_mean']:.4f}) {word} the best "
        f"baseline **{base['model']}** ({base['accuracy_mean']:.4f}){gap}: {verdict}; "
        f"{'outside' if pair['p'] < alpha else 'inside'} newswire noise (paired tests over "
        f"the same {len(correct[base['model']][0])} newswires, seeds pooled: "
        f"{confidence:.0%} CI [{pair['low']:+.4f}, {pair['high']:+.4f}], p = {pair['p']:.4f}; "
        f"Holm-adjusted for the {len(models)} models read, p = {pooled:.4f}). As shipped, one "
        f"trained model per seed (McNemar's exact test, Holm-adjusted): p = {shipped}."
    )


def paired(scores: list[float], reference: list[float]) -> tuple[float, float]:
    """Mean difference of two trials over the same (seed, fold) fits, and the paired t-test's p."""
    a, b = np.asarray(scores), np.asarray(reference)
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"trials of {len(a)} and {len(b)} fits cannot be paired")
    difference = a - b
    if not difference.any():
        return 0.0, 1.0
    return float(difference.mean()), float(stats.ttest_rel(a, b).pvalue)
