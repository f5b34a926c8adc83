"""report: statistics over seeds, Welch's comparisons, the verdict and the table, on made-up runs.

The params are the project's defaults with seeds [1, 2, 3] set here, so a different live
params.yaml changes nothing.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from reuters_rnn.failure import FixableError
from reuters_rnn.params import parse_params
from reuters_rnn.resampling import holm, mcnemar, paired_bootstrap
from reuters_rnn.scoring import METRICS
from reuters_rnn.statistics import best_vs_baseline, compare, summarize
from stages.report import read_model_json, summary_metrics, to_markdown
from tests.tiny_project import PROJECT, published

RAW = yaml.safe_load((PROJECT / "params.yaml").read_text())
RAW["train"]["seeds"] = [1, 2, 3]
RAW["report"]["comparisons"] = [["vanilla_rnn", "lstm"], ["lstm", "stacked_lstm"]]
PARAMS = parse_params(RAW)
ACCURACIES = {
    "vanilla_rnn": [0.74, 0.75, 0.76],
    "stacked_vanilla_rnn": [0.75, 0.77, 0.79],
    "lstm": [0.84, 0.85, 0.86],
    "stacked_lstm": [0.845, 0.85, 0.855],
}


def fake_runs(accuracies: dict[str, list[float]]) -> pd.DataFrame:
    others = {m: 0.5 for m in METRICS if m != "accuracy"}
    return pd.DataFrame(
        {
            "model": model,
            "seed": seed,
            "accuracy": acc,
            **others,
            "weights": 100,
            "train_seconds": 2.0,
            "ms_per_epoch": 10.0,
        }
        for model, values in accuracies.items()
        for seed, acc in zip([1, 2, 3], values, strict=True)
    )


RUNS = fake_runs(ACCURACIES)
RNG = np.random.default_rng(0)
# Each model's (seeds, newswires) hits on 600 newswires, near its accuracy; a baseline one row.
CORRECT = {m: RNG.random((3, 600)) < np.mean(v) for m, v in ACCURACIES.items()} | {
    "majority": RNG.random((1, 600)) < 0.7479,
    "tfidf_logreg": RNG.random((1, 600)) < 0.80,
}
BASELINES = pd.DataFrame(
    [
        {
            "model": "majority",
            "kind": "baseline",
            "seeds": 1,
            "accuracy_mean": 0.7479,
            **{f"{m}_mean": 0.1 for m in METRICS if m != "accuracy"},
        }
    ]
)


def test_summary_has_mean_std_and_t_interval_per_model():
    table = summarize(RUNS, PARAMS).set_index("model")
    row = table.loc["stacked_vanilla_rnn"]
    assert row["accuracy_mean"] == pytest.approx(0.77)
    assert row["accuracy_std"] == pytest.approx(0.02)
    half = stats.t.ppf(0.975, 2) * 0.02 / np.sqrt(3)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.77 - half, 0.77 + half))
    expected = published()["stacked_vanilla_rnn"]
    assert row["published"] == expected
    assert row["diff_vs_published"] == pytest.approx(0.77 - expected)


def test_comparisons_tell_noise_from_a_real_gap():
    result = compare(RUNS, PARAMS, CORRECT).set_index("comparison")
    assert result.loc["lstm vs vanilla_rnn", "outside_seed_noise"] == "yes"
    assert result.loc["stacked_lstm vs lstm", "outside_seed_noise"] == "no"
    expected = stats.ttest_ind([0.845, 0.85, 0.855], [0.84, 0.85, 0.86], equal_var=False).pvalue
    assert result.loc["stacked_lstm vs lstm", "p_value"] == pytest.approx(expected)


def test_the_verdict_names_the_best_model_the_gap_and_whether_it_is_noise():
    summary = summarize(RUNS, PARAMS)
    tfidf = BASELINES.assign(model="tfidf_logreg", accuracy_mean=0.80)
    verdict = best_vs_baseline(summary, RUNS, tfidf, PARAMS, CORRECT)
    assert (
        "**lstm** (0.8500) beats the best baseline **tfidf_logreg** (0.8000) by +0.0500" in verdict
    )
    assert "outside seed noise" in verdict and "outside newswire noise" in verdict
    assert "paired tests over the same 600 newswires" in verdict
    assert "Holm-adjusted for the 4 models read" in verdict
    assert re.search(
        r"As shipped, one trained model per seed .*: p = [0-9.]+, [0-9.]+, [0-9.]+\.", verdict
    )
    close = best_vs_baseline(summary, RUNS, tfidf.assign(accuracy_mean=0.849), PARAMS, CORRECT)
    assert "inside seed noise" in close and "by +0.0010" in close
    tied = best_vs_baseline(summary, RUNS, tfidf.assign(accuracy_mean=0.85), PARAMS, CORRECT)
    assert "**lstm** (0.8500) equals the best baseline **tfidf_logreg** (0.8500): " in tied
    behind = best_vs_baseline(summary, RUNS, tfidf.assign(accuracy_mean=0.855), PARAMS, CORRECT)
    assert (
        "**lstm** (0.8500) trails the best baseline **tfidf_logreg** (0.8550) by 0.0050" in behind
    )


def test_an_ensemble_is_a_row_of_its_own_kind_and_can_be_the_best():
    """An ensemble's runs are summarized like a model's, under its kind; the verdict names it
    when it is the best, and a pooled ensemble (one run) has no spread."""
    runs = pd.concat(
        [RUNS, fake_runs({"swem_tfidf": [0.86, 0.87, 0.88]})]
        + [fake_runs({"swem_seeds": [0.9, 0.9, 0.9]}).head(1).assign(seed="pooled")],
        ignore_index=True,
    )
    summary = summarize(runs, PARAMS).set_index("model")
    assert (
        summary.loc["swem_tfidf", "kind"] == "ensemble" and summary.loc["lstm", "kind"] == "model"
    )
    assert summary.loc["swem_seeds", "seeds"] == 1 and pd.isna(
        summary.loc["swem_seeds", "accuracy_std"]
    )
    correct = CORRECT | {
        "swem_tfidf": RNG.random((3, 600)) < 0.87,
        "swem_seeds": RNG.random((1, 600)) < 0.9,
    }
    tfidf = BASELINES.assign(model="tfidf_logreg", accuracy_mean=0.80)
    verdict = best_vs_baseline(summary.reset_index(), runs, tfidf, PARAMS, correct)
    assert verdict.startswith("Best ensemble: **swem_seeds** (0.9000) beats the best baseline")
    assert "Holm-adjusted for the 6 models read" in verdict
    table = pd.concat([summary.reset_index(), BASELINES], ignore_index=True)
    text = to_markdown(table, compare(runs, PARAMS, correct), verdict, PARAMS, "test")
    assert "| ensemble: swem_tfidf " in text and "| lstm " in text


def test_markdown_shows_every_model_baseline_and_the_published_numbers():
    table = pd.concat([summarize(RUNS, PARAMS).assign(kind="model"), BASELINES], ignore_index=True)
    text = to_markdown(table, compare(RUNS, PARAMS, CORRECT), "", PARAMS, "test")
    for name in ACCURACIES:
        assert f"| {name} " in text
    assert "baseline: majority" in text and "0.7479" in text
    assert f"{published()['lstm']:.4f}" in text and "0.7700 ± 0.0200" in text
    assert "nan" not in text and "test accuracy over seeds [1, 2, 3]" in text
    assert re.search(r"paired 95% CI\s*\|\s*paired_p\s*\|\s*outside_newswire_noise", text)


def test_the_metrics_file_holds_numbers_means_first_then_spreads():
    table = pd.concat([summarize(RUNS, PARAMS).assign(kind="model"), BASELINES], ignore_index=True)
    metrics = summary_metrics(table)
    assert metrics["lstm"] == 0.85 and metrics["lstm_std"] == 0.01
    assert metrics["majority"] == 0.7479 and "majority_std" not in metrics  # one run: no spread
    assert all(isinstance(v, float) for v in metrics.values())
    keys = list(metrics)
    assert keys.index("majority") < min(keys.index(k) for k in keys if k.endswith("_std"))


def test_missing_runs_are_named(tmp_path):
    (tmp_path / "lstm.json").write_text("{}")
    with pytest.raises(FixableError, match="no metrics for vanilla_rnn, stacked_vanilla_rnn"):
        read_model_json(tmp_path, list(PARAMS.models), "metrics")


def test_the_paired_bootstrap_pools_seeds_and_tells_a_real_gap_from_chance():
    a = RNG.random((3, 1000)) < 0.8
    same = paired_bootstrap(a, a, 0.95)
    assert same["difference"] == 0 and same["p"] == 1.0
    better = a.copy()
    better[:, np.flatnonzero(~a.all(axis=0))[:40]] = True  # 40 newswires B gets right every seed
    gain = paired_bootstrap(a, better, 0.95)
    assert gain["difference"] == pytest.approx(better.mean() - a.mean())  # seeds pooled
    assert gain["p"] < 0.001 and 0 < gain["low"] < gain["difference"] < gain["high"]
    other = RNG.random((3, 1000)) < 0.8  # as accurate, other newswires right: chance only
    assert paired_bootstrap(a, other, 0.95)["p"] > 0.05


def test_with_one_seed_the_paired_bootstrap_agrees_with_mcnemars_exact_test():
    a = np.arange(2000) < 1600  # A right on 1,600
    b = a.copy()
    b[:60], b[1600:1685] = False, True  # B loses 60 of them and wins 85 others
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    mcnemar = stats.binomtest(only_b, only_a + only_b, 0.5).pvalue
    assert 0.001 < mcnemar < 0.2  # a case where the two could disagree
    assert paired_bootstrap(a, b, 0.95)["p"] == pytest.approx(mcnemar, abs=0.02)


def test_mcnemar_and_holm_give_their_textbook_answers():
    """McNemar's exact test: 10 newswires only B gets right, none only A: p = 2 / 2**10. Holm:
    p-values (0.01, 0.04, 0.03) of three tests adjust to (0.03, 0.06, 0.06)."""
    a = np.zeros(100, dtype=bool)
    b = a.copy()
    b[:10] = True
    assert mcnemar(a, b) == pytest.approx(2 / 2**10)
    assert mcnemar(a, a) == 1.0
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_the_bootstrap_interval_covers_a_known_mean_difference_as_often_as_it_says():
    """On pairs whose true difference is 0.025, the 90% BCa interval covers it in about 90% of
    20 draws (fewer than 14 has a chance of about 1%)."""
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(20):
        a = rng.random(300) < 0.80
        b = np.where(rng.random(300) < 0.5, a, rng.random(300) < 0.85)  # B = A half the time
        truth = 0.5 * (0.85 - 0.80)
        pair = paired_bootstrap(a, b, 0.90, seed=int(rng.integers(1_000)))
        covered += pair["low"] <= truth <= pair["high"]
    assert covered >= 14
