"""report: statistics over seeds, the comparisons, the decision and the table, on made-up runs.

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

from reuters_rnn.evaluation.decision import Candidate, decide, pair_tests
from reuters_rnn.evaluation.reporting import read_model_json, summary_metrics, to_markdown
from reuters_rnn.evaluation.resampling import holm, mcnemar, paired_bootstrap
from reuters_rnn.evaluation.scoring import METRICS
from reuters_rnn.evaluation.statistics import compare, summarize
from reuters_rnn.plumbing.failure import FixableError
from reuters_rnn.schema.params import parse_params
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


def candidate(name: str, hits: np.ndarray, weights: int, seconds: float = 1.0) -> Candidate:
    runs = tuple(str(s) for s in range(1, len(hits) + 1)) if len(hits) > 1 else ("",)
    return Candidate(name, round(float(hits.mean()), 4), hits, runs, seconds, weights)


def all_candidates(correct: dict[str, np.ndarray]) -> list[Candidate]:
    return [candidate(name, hits, 100 * (i + 1)) for i, (name, hits) in enumerate(correct.items())]


def family_of(correct: dict[str, np.ndarray]) -> pd.DataFrame:
    return pair_tests(all_candidates(correct))


def test_comparisons_tell_noise_from_a_real_gap():
    result = compare(RUNS, PARAMS, CORRECT, family_of(CORRECT)).set_index("comparison")
    assert result.loc["lstm vs vanilla_rnn", "outside_seed_noise"] == "yes"
    assert result.loc["stacked_lstm vs lstm", "outside_seed_noise"] == "no"
    # The same seeds on both sides: the t-test is paired by seed (an ensemble's seed s holds its
    # members' seed s), not Welch's.
    expected = stats.ttest_rel([0.845, 0.85, 0.855], [0.84, 0.85, 0.86]).pvalue
    assert result.loc["stacked_lstm vs lstm", "seed test"] == "paired t"
    assert result.loc["stacked_lstm vs lstm", "p_value"] == pytest.approx(expected)
    # The newswire verdict reads the p Holm-adjusted over every test the report reads.
    tests = family_of(CORRECT)
    row = tests[
        (tests["a"] == "vanilla_rnn") & (tests["b"] == "lstm") & (tests["test"] == "pooled")
    ]
    assert result.loc["lstm vs vanilla_rnn", "holm_p"] == row["holm_p"].iloc[0]
    assert row["holm_p"].iloc[0] >= row["p"].iloc[0]


def test_the_decision_recommends_the_cheapest_candidate_no_other_beats():
    """A cheap model as accurate as an expensive one is recommended; a cheap one that another
    beats on the pooled test and on McNemar's for every shipped seed is not."""
    rng = np.random.default_rng(1)
    truth = rng.random(2000)
    strong = np.stack([truth < 0.90 + 0.01 * rng.random(2000) for _ in range(3)])
    tied = rng.random((1, 2000)) < 0.90  # as accurate, other newswires right
    weak = np.stack([truth < 0.70 for _ in range(3)])  # right only where strong is right
    cands = [
        candidate("strong", strong, 1_000_000),
        candidate("tied", tied, 5_000),
        candidate("weak", weak, 10),
    ]
    decision = decide(cands, 0.05)
    assert decision.beaten_by["weak"] == ["strong", "tied"]
    assert decision.beaten_by["strong"] == [] and decision.beaten_by["tied"] == []
    assert decision.recommended == "tied"  # the cheaper side of a tie
    # 3 pairs: each a pooled test; McNemar by seed for strong/weak (3), each run against the
    # one-run side otherwise (3 + 3): 12 tests, one Holm family.
    assert len(decision.tests) == 12 and "12 tests" in decision.rule and "3 pairs" in decision.rule
    assert (decision.tests["holm_p"] == holm(decision.tests["p"])).all()
    paired_seeds = decision.tests[
        (decision.tests["a"] == "strong") & (decision.tests["b"] == "weak")
    ]
    assert list(paired_seeds["run"]) == ["", "1", "2", "3"]
    # Make the tie costlier: the strong model is now the cheapest that nothing beats.
    dearer = decide([cands[0], candidate("tied", tied, 2_000_000), cands[2]], 0.05)
    assert dearer.recommended == "strong"


def test_one_shipped_seed_that_is_not_better_keeps_a_candidate_standing():
    """B is better than A only if every shipped seed is: one seed that equals A leaves A standing."""
    rng = np.random.default_rng(2)
    a = np.stack([rng.random(2000) < 0.80 for _ in range(3)])
    b = a.copy()
    b[:2, np.flatnonzero(~a[0] & ~a[1])[:150]] = True  # seeds 1 and 2 clearly better
    decision = decide([candidate("a", a, 10), candidate("b", b, 20)], 0.05)
    seeds = decision.tests[decision.tests["test"] == "mcnemar"]
    assert (seeds["holm_p"].iloc[:2] < 0.05).all() and seeds["holm_p"].iloc[2] == 1.0
    assert decision.beaten_by["a"] == [] and decision.recommended == "a"


def test_an_ensemble_is_a_row_of_its_own_kind():
    """An ensemble's runs are summarized like a model's, under its kind; a pooled ensemble (one
    run) has no spread."""
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
    table = pd.concat([summary.reset_index(), BASELINES], ignore_index=True)
    table["clean_accuracy_mean"] = 0.9
    comparisons = compare(runs, PARAMS, correct, family_of(correct))
    text = to_markdown(table, comparisons, [], PARAMS, "test")
    assert "| ensemble: swem_tfidf " in text and "| lstm " in text


def test_markdown_shows_every_model_baseline_and_the_published_numbers():
    table = pd.concat([summarize(RUNS, PARAMS).assign(kind="model"), BASELINES], ignore_index=True)
    table["clean_accuracy_mean"] = [0.75, 0.78, 0.86, 0.86, 0.76]
    comparisons = compare(RUNS, PARAMS, CORRECT, family_of(CORRECT))
    text = to_markdown(table, comparisons, [], PARAMS, "test", (600, 10))
    assert "| 0.7800 " in text and "on the 590 of 600 test newswires" in text
    for name in ACCURACIES:
        assert f"| {name} " in text
    assert "baseline: majority" in text and "0.7479" in text
    assert f"{published()['lstm']:.4f}" in text and "0.7700 ± 0.0200" in text
    assert "nan" not in text and "test accuracy over seeds [1, 2, 3]" in text
    assert re.search(r"paired 95% CI\s*\|\s*paired_p\s*\|\s*holm_p\s*\|\s*outside_newswire", text)


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
