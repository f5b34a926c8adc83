"""plots: the report table + each model's confusion counts -> the data of the summary plots.

`dvc plots show` draws them with the templates in .dvc/plots: accuracy per model (mean and CI over
seeds, published numbers and baselines as markers) and row-normalized confusion matrices.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from reuters_rnn.plumbing.atomic import atomic_path
from reuters_rnn.plumbing.failure import run_stage
from reuters_rnn.plumbing.stage import begin
from reuters_rnn.schema.params import Params

OURS = "ours (mean, CI over seeds)"
TOPICS = 8  # the most frequent test topics that get their own row in the confusion plot


def accuracy_rows(table: pd.DataFrame) -> pd.DataFrame:
    """One row per model or baseline (CI collapsed to the mean where there is none), plus one
    per published number, each with the table's order."""
    table = table.reset_index(drop=True)
    ours = pd.DataFrame(
        {
            "order": table.index,
            "model": table["model"],
            "kind": table["kind"].where(table["kind"] == "baseline", OURS),
            "accuracy": table["accuracy_mean"],
            "ci_low": table["ci_low"].fillna(table["accuracy_mean"]),
            "ci_high": table["ci_high"].fillna(table["accuracy_mean"]),
        }
    )
    published = table[table["published"].notna()]
    marks = pd.DataFrame(
        {
            "order": published.index,
            "model": published["model"],
            "kind": "published",
            **{column: published["published"] for column in ("accuracy", "ci_low", "ci_high")},
        }
    )
    return pd.concat([ours, marks]).sort_values(["order", "kind"]).round(4)


def confusion_rows(counts: pd.DataFrame, params: Params, topics: list[str]) -> pd.DataFrame:
    """Row-normalized confusion per model (seeds summed): the TOPICS most frequent actual topics
    by number and name, the rest pooled as "other"."""
    first = counts[counts["model"] == next(iter(params.models))]
    top = first.groupby("actual")["count"].sum().nlargest(TOPICS).index
    label = {c: f"{c:02d} {topics[c]}" for c in sorted(top)}
    named = counts.assign(
        **{c: counts[c].map(lambda t: label.get(t, "other")) for c in ("actual", "predicted")}
    )
    cells = named.groupby(["model", "actual", "predicted"], sort=False)["count"].sum().reset_index()
    cells["share"] = (
        cells["count"] / cells.groupby(["model", "actual"])["count"].transform("sum")
    ).round(3)
    cells.insert(0, "order", cells["model"].map({m: i for i, m in enumerate(params.models)}))
    return cells.sort_values(["order", "actual", "predicted"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report", help="the report table, e.g. metrics/report.csv")
    parser.add_argument("confusion", help="directory of confusion counts, e.g. metrics/confusion")
    parser.add_argument("facts", help="prepare's dataset facts (topic names), metrics/data.json")
    parser.add_argument("accuracy_out", help="CSV for the accuracy plot")
    parser.add_argument("confusion_out", help="CSV for the confusion plot")
    stage = begin(parser, "plots")
    args, params = stage.args, stage.params
    topics = json.loads(Path(args.facts).read_text())["topics"]
    counts = pd.concat(
        [pd.read_csv(Path(args.confusion) / f"{m}.csv").assign(model=m) for m in params.models],
        ignore_index=True,
    )
    with atomic_path(args.accuracy_out) as tmp:
        accuracy_rows(pd.read_csv(args.report)).to_csv(tmp, index=False)
    with atomic_path(args.confusion_out) as tmp:
        confusion_rows(counts, params, topics).to_csv(tmp, index=False)
    stage.guard.check(args.accuracy_out, args.confusion_out)
    print(f"plots: {args.accuracy_out}, {args.confusion_out}")


if __name__ == "__main__":
    run_stage(main, "plots")
