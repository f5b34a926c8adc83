"""report: every run's metrics + the baselines -> one table (Markdown, CSV and a JSON summary).

Per model: mean ± std and a confidence interval over seeds beside the published accuracy, and
Welch's t-test for the model pairs in report.comparisons.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from stages.atomic import atomic_path, write_json
from stages.params import Params, load_params

RUN_COLUMNS = ["accuracy", "f1_macro", "f1_weighted", "loss", "params", "train_seconds"]


def read_runs(directory: str | Path, params: Params) -> pd.DataFrame:
    """The evaluate JSONs of the models and seeds in params (older runs lying there are ignored)."""
    runs = pd.DataFrame([json.loads(p.read_text()) for p in sorted(Path(directory).glob("*.json"))])
    wanted = pd.MultiIndex.from_product([list(params.models), params.train.seeds])
    if runs.empty:
        runs = pd.DataFrame(columns=["model", "seed", *RUN_COLUMNS])
    runs = runs.set_index(["model", "seed"])
    missing = wanted.difference(runs.index)
    if len(missing):
        raise SystemExit(
            f"report: no metrics in {directory} for {', '.join(f'{m} seed {s}' for m, s in missing)}; "
            "run `dvc repro` to train and evaluate them."
        )
    return runs.loc[wanted].rename_axis(["model", "seed"]).reset_index()


def read_baselines(directory: str | Path, params: Params) -> pd.DataFrame:
    """The baseline JSONs of the baselines named in params, in params order."""
    found = {}
    for path in Path(directory).glob("*.json"):
        metrics = json.loads(path.read_text())
        found[metrics["model"]] = metrics
    missing = [name for name in params.baselines if name not in found]
    if missing:
        raise SystemExit(
            f"report: no metrics in {directory} for baseline(s) {missing}; run `dvc repro`."
        )
    return pd.DataFrame(
        [found[name] for name in params.baselines], columns=["model", *RUN_COLUMNS[:4]]
    )


def mean_interval(values: pd.Series, confidence: float) -> tuple[float, float]:
    """Student-t confidence interval of the mean; (nan, nan) for fewer than two runs."""
    if len(values) < 2:
        return np.nan, np.nan
    if values.std() == 0:  # identical runs: the interval collapses (scipy would say nan)
        return float(values.mean()), float(values.mean())
    low, high = stats.ttest_1samp(values, popmean=0).confidence_interval(confidence)
    return float(low), float(high)


def summarize(runs: pd.DataFrame, params: Params) -> pd.DataFrame:
    """One row per model: mean, std and CI of accuracy over seeds, published number, means."""
    confidence = params.report.confidence
    rows = []
    for model, group in runs.groupby("model", sort=False):
        low, high = mean_interval(group["accuracy"], confidence)
        published = params.report.published.get(model, np.nan)
        mean = group["accuracy"].mean()
        rows.append(
            {
                "model": model,
                "seeds": len(group),
                "accuracy_mean": mean,
                "accuracy_std": group["accuracy"].std(ddof=1) if len(group) > 1 else np.nan,
                "ci_low": low,
                "ci_high": high,
                "published": published,
                "diff_vs_published": mean - published,
                **{f"{c}_mean": group[c].mean() for c in RUN_COLUMNS[1:4]},
                "params": int(group["params"].iloc[0]),
                "train_seconds_mean": group["train_seconds"].mean(),
            }
        )
    return pd.DataFrame(rows)


def baseline_rows(baselines: pd.DataFrame) -> pd.DataFrame:
    """Baselines as single-run rows under the recurrent models (majority class = reference line)."""
    return pd.DataFrame(
        {
            "model": "baseline: " + baselines["model"],
            "seeds": 1,
            "accuracy_mean": baselines["accuracy"],
            **{f"{c}_mean": baselines[c] for c in RUN_COLUMNS[1:4]},
        }
    )


def compare(runs: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Welch's t-test on test accuracy for each pair in report.comparisons."""
    alpha = 1 - params.report.confidence
    rows = []
    for a, b in params.report.comparisons:
        acc_a = runs.loc[runs["model"] == a, "accuracy"]
        acc_b = runs.loc[runs["model"] == b, "accuracy"]
        noisy = min(len(acc_a), len(acc_b)) >= 2 and (acc_a.std() > 0 or acc_b.std() > 0)
        test = stats.ttest_ind(acc_b, acc_a, equal_var=False) if noisy else None
        p = float(test.pvalue) if test else np.nan
        verdict = (
            "n/a (need 2+ seeds with spread)" if np.isnan(p) else ("yes" if p < alpha else "no")
        )
        rows.append(
            {
                "comparison": f"{b} vs {a}",
                "difference": acc_b.mean() - acc_a.mean(),
                "welch_t": float(test.statistic) if test else np.nan,
                "p_value": p,
                f"distinguishable_at_{alpha:g}": verdict,
            }
        )
    return pd.DataFrame(rows)


def _fmt(value, spec: str = ".4f") -> str:
    return "" if pd.isna(value) else format(value, spec)


def to_markdown(table: pd.DataFrame, comparisons: pd.DataFrame, params: Params) -> str:
    """The table a person reads: accuracy as mean ± std with its interval, beside the published."""
    conf = f"{params.report.confidence:.0%}"
    shown = pd.DataFrame(
        {
            "model": table["model"],
            "seeds": table["seeds"],
            "accuracy (mean ± std)": [
                _fmt(m) + (f" ± {s:.4f}" if pd.notna(s) else "")
                for m, s in zip(table["accuracy_mean"], table["accuracy_std"], strict=True)
            ],
            f"{conf} CI": [
                f"[{lo:.4f}, {hi:.4f}]" if pd.notna(lo) else ""
                for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
            ],
            "published": table["published"].map(_fmt),
            "ours − published": table["diff_vs_published"].map(lambda v: _fmt(v, "+.4f")),
            "F1 macro": table["f1_macro_mean"].map(_fmt),
            "F1 weighted": table["f1_weighted_mean"].map(_fmt),
            "test loss": table["loss_mean"].map(_fmt),
            "params": table["params"].map(lambda v: _fmt(v, ",.0f")),
            "train s": table["train_seconds_mean"].map(lambda v: _fmt(v, ".1f")),
        }
    )
    text = [
        f"# Reuters topic classification: test accuracy over seeds {list(params.train.seeds)}",
        "",
        shown.to_markdown(index=False, disable_numparse=True),
    ]
    if not comparisons.empty:
        shown_cmp = comparisons.copy()
        for column, spec in (("difference", "+.4f"), ("welch_t", ".4f"), ("p_value", ".4f")):
            shown_cmp[column] = [_fmt(v, spec) for v in shown_cmp[column]]
        text += [
            "",
            f"## Is each difference distinguishable from seed noise? (Welch's t-test, alpha = {1 - params.report.confidence:g})",
            "",
            shown_cmp.to_markdown(index=False, disable_numparse=True),
        ]
    return "\n".join(text) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", help="directory of evaluate JSONs, e.g. metrics/runs")
    parser.add_argument("baselines", help="directory of baseline JSONs, e.g. metrics/baselines")
    parser.add_argument(
        "out", help="prefix for .md, .csv and the .json summary, e.g. metrics/report"
    )
    args = parser.parse_args()
    params = load_params()
    runs = read_runs(args.runs, params)
    summary = summarize(runs, params)
    table = pd.concat(
        [summary, baseline_rows(read_baselines(args.baselines, params))], ignore_index=True
    )
    comparisons = compare(runs, params)
    markdown = to_markdown(table, comparisons, params)
    with atomic_path(f"{args.out}.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    with atomic_path(f"{args.out}.md") as tmp:
        tmp.write_text(markdown)
    write_json(
        f"{args.out}.json",
        {
            row["model"]: {
                "accuracy_mean": round(row["accuracy_mean"], 4),
                "accuracy_std": None
                if pd.isna(row["accuracy_std"])
                else round(row["accuracy_std"], 4),
            }
            for row in table.to_dict("records")
        },
    )
    print(markdown)


if __name__ == "__main__":
    main()
