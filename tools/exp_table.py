"""Experiments side by side in a terminal: one column per experiment, one row per model (its
mean accuracy over seeds) after the recommended model, under the params the experiments set
differently. `dvc exp show`
gives every param and dependency hash a column of its own, too many for a terminal once the
project has a dozen models; this reads the same rows (`dvc exp show --json`) and turns them.

    python -m tools.exp_table                 # the workspace, HEAD and HEAD's experiments
    python -m tools.exp_table -A              # any flag after it goes to `dvc exp show`
    python -m tools.exp_table --std           # each model's spread over seeds too
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from reuters_rnn.plumbing.guard import (
    _flatten as flatten,  # params.yaml's dotted keys, as DVC shows them
)

METRICS = "metrics/report.json"
WIDTH = 12  # a column: an experiment's name, a param's value or an accuracy, cut to fit


def rows_of(shown: list[dict]) -> list[dict]:
    """`dvc exp show --json` as [{name, params, metrics}], baselines before their experiments."""
    rows = []
    for baseline in shown:
        for exp in [baseline] + [e for ex in baseline.get("experiments") or [] for e in ex["revs"]]:
            data = exp.get("data") or {}
            params = data.get("params", {}).get("params.yaml", {}).get("data", {})
            rows.append(
                {
                    "name": exp.get("name") or exp.get("rev") or "?",
                    "params": flatten(params),
                    "metrics": data.get("metrics", {}).get(METRICS, {}).get("data", {}),
                }
            )
    return rows


def cut(text: str, width: int = WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: list[dict], spreads: bool = False) -> str:
    """The changed params, a rule, then each metric: a line each, a column per experiment."""
    keys = list(dict.fromkeys(key for row in rows for key in row["params"]))
    changed = [k for k in keys if len({json.dumps(r["params"].get(k)) for r in rows}) > 1]
    names = list(dict.fromkeys(m for row in rows for m in row["metrics"]))
    metrics = [m for m in names if spreads or not m.endswith("_std")]
    label = max([len(k) for k in changed + metrics] + [10])
    lines = [" " * label + "".join(f"  {cut(row['name']):>{WIDTH}}" for row in rows)]
    for key in changed:
        values = [row["params"].get(key, "-") for row in rows]
        lines.append(f"{key:<{label}}" + "".join(f"  {cut(str(v)):>{WIDTH}}" for v in values))
    lines.append("─" * len(lines[0]))
    for metric in metrics:
        values = [row["metrics"].get(metric) for row in rows]
        shown = [
            "-" if v is None else f"{v:.4f}" if isinstance(v, int | float) else cut(str(v))
            for v in values
        ]
        lines.append(f"{metric:<{label}}" + "".join(f"  {v:>{WIDTH}}" for v in shown))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--std", action="store_true", help="each model's spread over seeds too")
    args, passed = parser.parse_known_args()
    shown = subprocess.run(
        ["dvc", "exp", "show", "--json", *passed], capture_output=True, text=True
    )
    if shown.returncode != 0:
        sys.exit(shown.stderr.strip() or f"dvc exp show exited {shown.returncode}")
    print(table(rows_of(json.loads(shown.stdout)), args.std))


if __name__ == "__main__":
    main()
