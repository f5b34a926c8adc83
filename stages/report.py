"""report: every model's and ensemble's metrics and timings + the baselines -> one table
(Markdown, CSV, JSON).

Per model or ensemble: mean ± std and a confidence interval over seeds beside the published
accuracy; for the pairs in report.comparisons and the best of them against the best baseline, the
tests over seeds and over the same newswires (reuters_rnn.statistics, reuters_rnn.resampling).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from reuters_rnn.atomic import atomic_path, write_json
from reuters_rnn.failure import FixableError, run_stage
from reuters_rnn.guard import InputsGuard
from reuters_rnn.params import Params, load_params
from reuters_rnn.scoring import METRICS
from reuters_rnn.statistics import best_vs_baseline, compare, summarize


def read_model_json(directory: str | Path, names: list[str], what: str) -> dict[str, dict]:
    """<directory>/<name>.json for each name (files of removed models ignored)."""
    found = {m: Path(directory) / f"{m}.json" for m in names}
    missing = [m for m, path in found.items() if not path.exists()]
    if missing:
        raise FixableError(
            f"report: no {what} for {', '.join(missing)} in {directory}; run `dvc repro`."
        )
    return {m: json.loads(path.read_text()) for m, path in found.items()}


def runs_table(runs: dict[str, dict], training: dict[str, dict]) -> pd.DataFrame:
    """One row per (model or ensemble, seed): held-out metrics, weights and training seconds (an
    ensemble's runs carry their own, its members' summed)."""
    timed = ("train_seconds", "ms_per_epoch")
    timings = {m: {str(t["seed"]): t for t in facts["seeds"]} for m, facts in training.items()}
    return pd.DataFrame(
        {"model": m, "seed": s, **metrics, **{k: timings[m][s][k] for k in timed if m in timings}}
        for m, result in runs.items()
        for s, metrics in result["seeds"].items()
    )


def baseline_rows(directory: str | Path, params: Params) -> pd.DataFrame:
    """The baselines named in params as single-run rows, in params order."""
    rows = []
    for name in params.baselines:
        path = Path(directory) / f"{name}.json"
        if not path.exists():
            raise FixableError(
                f"report: no metrics for baseline {name} in {directory}; run `dvc repro`."
            )
        metrics = json.loads(path.read_text())
        rows.append(
            {
                "model": name,
                "kind": "baseline",
                "seeds": 1,
                "accuracy_mean": metrics["accuracy"],
                **{f"{m}_mean": metrics[m] for m in METRICS if m != "accuracy"},
            }
        )
    return pd.DataFrame(rows)


def hits(directory: str | Path, params: Params) -> dict[str, np.ndarray]:
    """Each model's and baseline's (seeds, newswires) hits, from the predictions evaluate and
    baseline wrote (metrics/predictions/<name>.csv: the label, then one column per seed)."""
    found = {}
    for name in [*params.scored(), *params.baselines]:
        path = Path(directory) / f"{name}.csv"
        if not path.exists():
            raise FixableError(
                f"report: no predictions for {name} in {directory}; run `dvc repro`."
            )
        frame = pd.read_csv(path, index_col="newswire")
        found[name] = frame["label"].to_numpy() == frame.drop(columns="label").to_numpy().T
    return found


def _fmt(value, spec: str = ".4f") -> str:
    return "" if pd.isna(value) else format(value, spec)


def to_markdown(
    table: pd.DataFrame, comparisons: pd.DataFrame, verdict: str, params: Params, held_out: str
) -> str:
    """The table a person reads: accuracy as mean ± std with its interval, beside the published."""
    shown = pd.DataFrame(
        {
            "model": [
                (f"{k}: " if k != "model" else "") + m
                for m, k in zip(table["model"], table["kind"], strict=True)
            ],
            "seeds": table["seeds"],
            "accuracy (mean ± std)": [
                _fmt(m) + (f" ± {s:.4f}" if pd.notna(s) else "")
                for m, s in zip(table["accuracy_mean"], table["accuracy_std"], strict=True)
            ],
            f"{params.report.confidence:.0%} CI": [
                f"[{lo:.4f}, {hi:.4f}]" if pd.notna(lo) else ""
                for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
            ],
            "published": table["published"].map(_fmt),
            "ours − published": table["diff_vs_published"].map(lambda v: _fmt(v, "+.4f")),
            **{
                f"{m.replace('_', ' ')}": table[f"{m}_mean"].map(_fmt)
                for m in METRICS
                if m != "accuracy"
            },
            "weights": table["weights"].map(lambda v: _fmt(v, ",.0f")),
            "train s/run": table["train_seconds_mean"].map(lambda v: _fmt(v, ".1f")),
            "ms/epoch": table["ms_per_epoch_mean"].map(lambda v: _fmt(v, ".0f")),
        }
    )
    text = [
        f"# Reuters topics: {held_out} accuracy over seeds {list(params.train.seeds)}",
        "",
        shown.to_markdown(index=False, disable_numparse=True),
    ]
    if verdict:
        text += ["", verdict]
    if not comparisons.empty:
        shown_cmp = comparisons.copy()
        for column in ("difference", "welch_t", "p_value", "paired_p"):
            spec = "+.4f" if column == "difference" else ".4f"
            shown_cmp[column] = [_fmt(v, spec) for v in shown_cmp[column]]
        low, high = shown_cmp.pop("paired_low"), shown_cmp.pop("paired_high")
        interval = [f"[{lo:+.4f}, {hi:+.4f}]" for lo, hi in zip(low, high, strict=True)]
        shown_cmp.insert(5, f"paired {params.report.confidence:.0%} CI", interval)
        alpha = 1 - params.report.confidence
        text += [
            "",
            f"## Is each difference outside the noise? (alpha = {alpha:g})",
            "",
            "Seed noise: Welch's t-test over the seeds' accuracies. Newswire noise: on the same "
            "held-out newswires, seeds pooled, SciPy's BCa bootstrap interval and paired "
            "permutation p (10,000 resamples each).",
            "",
            shown_cmp.to_markdown(index=False, disable_numparse=True),
        ]
    return "\n".join(text) + "\n"


def summary_metrics(table: pd.DataFrame) -> dict[str, float]:
    """The one DVC metrics file, all numbers (DVC diffs and sorts only numbers): each model's
    (and baseline's) mean held-out accuracy under its name, first, so `dvc exp show` leads with
    them; then `<model>_std`, its spread over seeds. The other numbers are in report.csv."""
    rows = table.to_dict("records")
    means = {row["model"]: round(float(row["accuracy_mean"]), 4) for row in rows}
    spreads = {
        f"{row['model']}_std": round(float(row["accuracy_std"]), 4)
        for row in rows
        if pd.notna(row.get("accuracy_std"))
    }
    return means | spreads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("metrics", help="the metrics directory, e.g. metrics")
    parser.add_argument(
        "out", help="prefix for .md, .csv and the .json summary, e.g. metrics/report"
    )
    args = parser.parse_args()
    params = load_params()
    guard = InputsGuard("report")
    metrics = Path(args.metrics)
    runs_json = read_model_json(metrics / "runs", params.scored(), "metrics")
    training = read_model_json(metrics / "training", list(params.models), "training facts")
    runs = runs_table(runs_json, training)
    summary = summarize(runs, params)
    baselines = baseline_rows(metrics / "baselines", params)
    table = pd.concat([summary, baselines], ignore_index=True)
    held_out = next(iter(runs_json.values()))["held_out"]
    correct = hits(metrics / "predictions", params)
    markdown = to_markdown(
        table,
        compare(runs, params, correct),
        best_vs_baseline(summary, runs, baselines, params, correct),
        params,
        held_out,
    )
    outputs = [f"{args.out}.csv", f"{args.out}.md", f"{args.out}.json"]
    with atomic_path(outputs[0]) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    with atomic_path(outputs[1]) as tmp:
        tmp.write_text(markdown)
    write_json(outputs[2], summary_metrics(table))
    guard.check(*outputs)
    print(markdown)


if __name__ == "__main__":
    run_stage(main, "report")
