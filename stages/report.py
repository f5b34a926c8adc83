"""report: every model's and ensemble's metrics and timings + the baselines -> one table
(Markdown, CSV, JSON).

Per model or ensemble: mean ± std and a confidence interval over seeds beside the published
accuracy; which model to use, by the rule of reuters_rnn.evaluation.decision, with every test behind it
(report.tests.csv); for the pairs in report.comparisons, the tests over seeds and over the same
newswires (reuters_rnn.evaluation.statistics, reuters_rnn.evaluation.resampling).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from reuters_rnn.evaluation.decision import decide
from reuters_rnn.evaluation.decision import to_markdown as decision_markdown
from reuters_rnn.evaluation.reporting import (
    baseline_rows,
    candidates,
    clean_accuracy,
    hits,
    read_model_json,
    runs_table,
    summary_metrics,
    to_markdown,
)
from reuters_rnn.evaluation.statistics import compare, summarize
from reuters_rnn.plumbing.atomic import atomic_path, write_json
from reuters_rnn.plumbing.failure import run_stage
from reuters_rnn.plumbing.stage import begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("metrics", help="the metrics directory, e.g. metrics")
    parser.add_argument(
        "out", help="prefix for .md, .csv and the .json summary, e.g. metrics/report"
    )
    stage = begin(parser, "report")
    args, params = stage.args, stage.params
    metrics = Path(args.metrics)
    runs_json = read_model_json(metrics / "runs", params.scored(), "metrics")
    training = read_model_json(metrics / "training", list(params.models), "training facts")
    runs = runs_table(runs_json, training)
    summary = summarize(runs, params)
    baselines = baseline_rows(metrics / "baselines", params)
    table = pd.concat([summary, baselines], ignore_index=True)
    held_out = next(iter(runs_json.values()))["held_out"]
    found = hits(metrics / "predictions", params)
    data = json.loads((metrics / "data.json").read_text())
    conflicting = data["test_conflicting_newswires"] if held_out == "test" else []
    table["clean_accuracy_mean"] = clean_accuracy(table, found, conflicting)
    shippable = candidates(table, found)
    decision = decide(shippable, 1 - params.report.confidence)
    correct = {name: hit for name, (hit, _) in found.items()}
    markdown = to_markdown(
        table,
        compare(runs, params, correct, decision.tests),
        decision_markdown(decision, shippable),
        params,
        held_out,
        (len(next(iter(correct.values()))[0]), len(conflicting)),
    )
    outputs = [f"{args.out}.csv", f"{args.out}.md", f"{args.out}.json", f"{args.out}.tests.csv"]
    with atomic_path(outputs[0]) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    with atomic_path(outputs[1]) as tmp:
        tmp.write_text(markdown)
    # A number, as DVC diffs only numbers: `recommended.<model>: 1` (a new answer shows in
    # `dvc metrics diff` as one key gone, another come).
    write_json(outputs[2], {"recommended": {decision.recommended: 1}, **summary_metrics(table)})
    with atomic_path(outputs[3]) as tmp:
        decision.tests.to_csv(tmp, index=False, float_format="%.6g")
    stage.guard.check(*outputs)
    print(markdown)


if __name__ == "__main__":
    run_stage(main, "report")
