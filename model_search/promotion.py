"""The promotion command: the best trial of a search and the `dvc exp run` that trains it in the
pipeline, from the study's storage or, where no storage holds the study (a fresh clone), from the
tracked results in search/<study>/ that `report` wrote.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from model_search.candidates import current_value, entry, section
from model_search.results import StudyMissing, comparison, load, yaml_value
from reuters_rnn.params import Params, load_params

# A paired p at or above this: the best trial is not told apart from the current model.
NOISE_P = 0.05


def promotion(
    model: str, values: dict[str, Any], current: dict[str, Any], where: str = "models"
) -> str:
    """The `dvc exp run` that trains these settings in the pipeline (keys that differ only);
    `where`: the params.yaml section holding the model (models or baselines)."""
    changed = {k: v for k, v in values.items() if current.get(k) != v}
    sets = " ".join(
        f"-S '{where}.{model}.{key}={yaml_value(value)}'" for key, value in changed.items()
    )
    return f"dvc exp run {sets}".strip()


def parse_settings(text: str) -> dict[str, Any]:
    """The inverse of results.settings: `pooling=[mean, max] hidden=64` -> its values."""
    if text == "as params.yaml":
        return {}
    pairs = re.split(r" (?=[a-z_]+=)", text)
    return {key: yaml.safe_load(value) for key, value in (p.split("=", 1) for p in pairs)}


def from_study(args: argparse.Namespace) -> tuple[str, str, int, dict[str, Any], dict]:
    """The study's name, the best trial's model, number and spec keys, and its comparison."""
    _, _, _, study, complete = load(args)
    trial = study.best_trial
    facts = comparison(complete)
    return study.study_name, trial.user_attrs["model"], trial.number, trial.user_attrs["set"], facts


def from_tracked(args: argparse.Namespace, missing: StudyMissing) -> tuple:
    """The same, read from search/<study>/ (comparison.json and trials.csv)."""
    name = args.study or args.space
    folder = Path(args.out or f"search/{name}")
    if not (folder / "comparison.json").exists():
        raise SystemExit(f"{missing} (nor does {folder}/ hold a report of it)") from None
    facts = json.loads((folder / "comparison.json").read_text())
    trials = pd.read_csv(folder / "trials.csv", keep_default_na=False)
    row = trials[trials["trial"] == facts["best_trial"]].iloc[0]
    print(f"search {name}: no storage holds the study; from its tracked results in {folder}/")
    return name, row["model"], int(row["trial"]), parse_settings(row["set"]), facts


def current_settings(params: Params, model: str) -> dict[str, Any]:
    """What the model trains with now, as a trial's values would say it."""
    return {
        key: current_value(params, model, key) for key in type(entry(params, model)).model_fields
    }


def best(args: argparse.Namespace) -> None:
    """Print the best trial and the command that trains it in the pipeline, where its test
    accuracy is measured once, after the choice."""
    try:
        name, model, number, values, facts = from_study(args)
    except StudyMissing as missing:
        name, model, number, values, facts = from_tracked(args, missing)
    line = f"search {name}: best trial {number}, {facts['best_accuracy']:.4f}"
    if facts.get("current_trial") is not None:
        line += (
            f" ({facts['difference']:+.4f} against the current model, trial "
            f"{facts['current_trial']}, paired p = {facts['p']:.3f})"
        )
    print(line)
    params = load_params()
    where = section(params, model)
    command = promotion(model, values, current_settings(params, model), where)
    if command == "dvc exp run":
        print(f"The current {where}.{model} is the best: nothing to promote.")
        return
    if facts.get("p") is not None and facts["p"] >= NOISE_P:
        print(
            f"The difference is inside seed noise (p = {facts['p']:.3f} >= {NOISE_P}): this "
            "search does not support a change. To try it in the pipeline anyway:"
        )
    print(command)
