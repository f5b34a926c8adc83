"""The report's tables: every model's and ensemble's runs and the baselines read from the metrics
folder, the summary a person reads (Markdown), and the numbers DVC compares (report.json). The
report stage's work; the statistics are reuters_rnn.evaluation.statistics's and reuters_rnn.evaluation.decision's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from reuters_rnn.evaluation.decision import Candidate
from reuters_rnn.evaluation.scoring import METRICS
from reuters_rnn.plumbing.failure import FixableError
from reuters_rnn.schema.params import Params


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
                "weights": metrics.get("weights", np.nan),
                "train_seconds_mean": metrics.get("train_seconds", np.nan),
            }
        )
    return pd.DataFrame(rows)


def hits(directory: str | Path, params: Params) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """Each model's and baseline's (runs, newswires) hits and its runs' names ("1", "pooled";
    "" for a baseline's one fit), from the predictions evaluate and baseline wrote
    (metrics/predictions/<name>.csv: the label, then one column per seed)."""
    found = {}
    for name in [*params.scored(), *params.baselines]:
        path = Path(directory) / f"{name}.csv"
        if not path.exists():
            raise FixableError(
                f"report: no predictions for {name} in {directory}; run `dvc repro`."
            )
        frame = pd.read_csv(path, index_col="newswire")
        predicted = frame.drop(columns="label")
        runs = tuple(column.removeprefix("seed-").removeprefix("predicted") for column in predicted)
        found[name] = (frame["label"].to_numpy() == predicted.to_numpy().T, runs)
    return found


def clean_accuracy(table: pd.DataFrame, found: dict, conflicting: list[int]) -> pd.Series:
    """Each row's mean accuracy over its runs on the clean newswires: all but `conflicting`."""

    def clean(name: str) -> float:
        hit = found[name][0]
        keep = np.ones(hit.shape[1], dtype=bool)
        keep[conflicting] = False
        return float(hit[:, keep].mean())

    return table["model"].map(clean)


def candidates(table: pd.DataFrame, found: dict) -> list[Candidate]:
    """Every row of the report as a candidate to ship, with its hits and cost."""
    return [
        Candidate(
            name=row["model"],
            accuracy=round(float(row["accuracy_mean"]), 4),
            hits=found[row["model"]][0],
            runs=found[row["model"]][1],
            train_seconds=0.0 if pd.isna(row["train_seconds_mean"]) else row["train_seconds_mean"],
            weights=0 if pd.isna(row["weights"]) else int(row["weights"]),
        )
        for row in table.to_dict("records")
    ]


def _fmt(value, spec: str = ".4f") -> str:
    return "" if pd.isna(value) else format(value, spec)


def to_markdown(
    table: pd.DataFrame,
    comparisons: pd.DataFrame,
    decision: list[str],
    params: Params,
    held_out: str,
    newswires: tuple[int, int] = (0, 0),
) -> str:
    """The table a person reads: accuracy as mean ± std with its interval (and on the clean
    newswires: `newswires` is how many there are held out, and how many are not clean), beside
    the published; which model to use (`decision`); the comparisons."""
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
            "clean": table["clean_accuracy_mean"].map(_fmt),
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
        "",
        f"Clean: accuracy on the {newswires[0] - newswires[1]} of {newswires[0]} {held_out} "
        "newswires whose exact text the training split does not hold under another label. The "
        f"other {newswires[1]} it does (Keras's file keeps a multi-topic wire's first topic, and "
        "gives a wire without a body the next wire's): no model can get all of them right.",
    ]
    text += ["", *decision]
    if not comparisons.empty:
        shown_cmp = comparisons.copy()
        for column in ("difference", "t", "p_value", "paired_p", "holm_p"):
            spec = "+.4f" if column == "difference" else ".4f"
            shown_cmp[column] = [_fmt(v, spec) for v in shown_cmp[column]]
        low, high = shown_cmp.pop("paired_low"), shown_cmp.pop("paired_high")
        interval = [f"[{lo:+.4f}, {hi:+.4f}]" for lo, hi in zip(low, high, strict=True)]
        shown_cmp.insert(6, f"paired {params.report.confidence:.0%} CI", interval)
        alpha = 1 - params.report.confidence
        text += [
            "",
            f"## Is each difference outside the noise? (alpha = {alpha:g})",
            "",
            "Seed noise: the t-test over the seeds' accuracies, paired by seed where both rows "
            "have the same seeds (Welch's otherwise). Newswire noise: on the same held-out "
            "newswires, seeds pooled, SciPy's BCa bootstrap interval (10,000 resamples) and the "
            "paired t-test's p, then that p Holm-adjusted in the one family of every test the "
            "report reads (Which model to use); the verdict reads the adjusted p.",
            "",
            shown_cmp.to_markdown(index=False, disable_numparse=True),
        ]
    return "\n".join(text) + "\n"


def summary_metrics(table: pd.DataFrame) -> dict[str, float]:
    """The numbers of the one DVC metrics file (after the recommended model's name): each
    model's (and baseline's) mean held-out accuracy under its name, so `dvc exp show` leads with
    them; then `<model>_std`, its spread over seeds. The other numbers are in report.csv."""
    rows = table.to_dict("records")
    means = {row["model"]: round(float(row["accuracy_mean"]), 4) for row in rows}
    spreads = {
        f"{row['model']}_std": round(float(row["accuracy_std"]), 4)
        for row in rows
        if pd.notna(row.get("accuracy_std"))
    }
    return means | spreads
