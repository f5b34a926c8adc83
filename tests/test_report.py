"""report: statistics over seeds, Welch's comparisons and the table, on hand-made runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from stages.params import load_params
from stages.report import baseline_rows, compare, read_runs, summarize, to_markdown
from tests.conftest import PROJECT

PARAMS = load_params(PROJECT / "params.yaml")


def fake_runs(accuracies: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for model, values in accuracies.items():
        for seed, acc in zip(PARAMS.train.seeds, values, strict=True):
            rows.append(
                {
                    "model": model,
                    "seed": seed,
                    "accuracy": acc,
                    "f1_macro": 0.5,
                    "f1_weighted": 0.8,
                    "loss": 1.0,
                    "params": 100,
                    "train_seconds": 2.0,
                }
            )
    return pd.DataFrame(rows)


RUNS = fake_runs(
    {
        "vanilla_rnn": [0.74, 0.75, 0.76],
        "stacked_vanilla_rnn": [0.75, 0.77, 0.79],
        "lstm": [0.84, 0.85, 0.86],
        "stacked_lstm": [0.845, 0.85, 0.855],
    }
)


def test_summary_has_mean_std_and_t_interval_per_model():
    table = summarize(RUNS, PARAMS).set_index("model")
    row = table.loc["stacked_vanilla_rnn"]
    assert row["accuracy_mean"] == pytest.approx(0.77)
    assert row["accuracy_std"] == pytest.approx(0.02)
    half = stats.t.ppf(0.975, 2) * 0.02 / np.sqrt(3)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.77 - half, 0.77 + half))
    assert row["published"] == 0.7746 and row["diff_vs_published"] == pytest.approx(0.77 - 0.7746)


def test_comparisons_tell_noise_from_a_real_gap():
    result = compare(RUNS, PARAMS).set_index("comparison")
    assert result.loc["lstm vs vanilla_rnn", "distinguishable_at_0.05"] == "yes"
    assert result.loc["stacked_lstm vs lstm", "distinguishable_at_0.05"] == "no"
    expected = stats.ttest_ind([0.845, 0.85, 0.855], [0.84, 0.85, 0.86], equal_var=False).pvalue
    assert result.loc["stacked_lstm vs lstm", "p_value"] == pytest.approx(expected)


def test_markdown_shows_every_model_baseline_and_the_published_numbers():
    baselines = pd.DataFrame(
        [
            {
                "model": "majority",
                "accuracy": 0.7479,
                "f1_macro": 0.03,
                "f1_weighted": 0.6,
                "loss": 9.0,
            }
        ]
    )
    table = pd.concat([summarize(RUNS, PARAMS), baseline_rows(baselines)], ignore_index=True)
    text = to_markdown(table, compare(RUNS, PARAMS), PARAMS)
    for name in PARAMS.models:
        assert f"| {name} " in text
    assert "baseline: majority" in text and "0.7479" in text
    assert "0.8464" in text and "0.7700 ± 0.0200" in text
    assert "nan" not in text


def test_missing_runs_are_named(tmp_path):
    (tmp_path / "lstm-1.json").write_text('{"model": "lstm", "seed": 1, "accuracy": 0.8}')
    with pytest.raises(SystemExit, match="vanilla_rnn seed 1"):
        read_runs(tmp_path, PARAMS)
