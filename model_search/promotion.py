"""The promotion command: the best trial of a search and the `dvc exp run` that trains it in the
pipeline, from the study's storage or, where no storage holds the study (a fresh clone), from the
tracked results in search/<study>/ that `report` wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from model_search.candidates import current_value, entry, section
from model_search.results import comparison, started_from, yaml_value
from model_search.settings import Settings
from model_search.stored import StudyMissing, complete_trials, missing, stored_study
from reuters_rnn.schema.params import Params

# A paired p at or above this: the best trial is not told apart from the current model.
NOISE_P = 0.05


@dataclass(frozen=True)
class Promotion:
    """What training a trial's settings in the pipeline changes: the params.yaml entry
    (`where`.`model`) and the keys that differ from it now, and the `dvc exp run` that does it."""

    where: str
    model: str
    changed: dict[str, Any]

    @property
    def command(self) -> str:
        sets = " ".join(
            f"-S '{self.where}.{self.model}.{key}={yaml_value(value)}'"
            for key, value in self.changed.items()
        )
        return f"dvc exp run {sets}".strip()


def promotion(
    model: str, values: dict[str, Any], current: dict[str, Any], where: str = "models"
) -> Promotion:
    """Training these settings in the pipeline (keys that differ only); `where`: the params.yaml
    section holding the model (models or baselines)."""
    return Promotion(where, model, {k: v for k, v in values.items() if current.get(k) != v})


def folds_of(study) -> int | None:
    """The k of the study's k-fold cross-validation (its identity), None if it has none stored."""
    identity = study.user_attrs.get("identity")
    return identity.get("folds") if isinstance(identity, dict) else None


def from_study(study, complete: list, model: str) -> tuple[str, str, int, dict[str, Any], dict]:
    """The study's name, the best trial's model, number and spec keys, and its comparison."""
    trial = study.best_trial
    facts = comparison(complete, started_from(study, model), folds_of(study))
    return study.study_name, trial.user_attrs["model"], trial.number, trial.user_attrs["set"], facts


def from_tracked(args: Settings) -> tuple:
    """The same, read from search/<study>/ (comparison.json and trials.csv' JSON settings)."""
    name = args.study or args.space
    folder = Path(args.out or f"search/{name}")
    if not (folder / "comparison.json").exists():
        raise StudyMissing(f"{missing(args)} (nor does {folder}/ hold a report of it)")
    facts = json.loads((folder / "comparison.json").read_text())
    trials = pd.read_csv(folder / "trials.csv", keep_default_na=False)
    row = trials[trials["trial"] == facts["best_trial"]].iloc[0]
    print(f"search {name}: no storage holds the study; from its tracked results in {folder}/")
    return name, row["model"], int(row["trial"]), json.loads(row["settings"]), facts


def current_settings(params: Params, model: str) -> dict[str, Any]:
    """What the model trains with now, as a trial's values would say it."""
    return {
        key: current_value(params, model, key) for key in type(entry(params, model)).model_fields
    }


def changed_since(facts: dict, params: Params, model: str) -> str:
    """A note when params.yaml's `model` is no longer the one the study started from (the trials
    were compared with that one), naming the keys that changed; "" when it is the same."""
    start = facts.get("started_from")
    if start is None:
        return ""
    now = entry(params, model).model_dump(mode="json")
    changed = sorted(key for key in now.keys() | start.keys() if now.get(key) != start.get(key))
    if not changed:
        return ""
    shown = ", ".join(f"{key} {start.get(key)!r} -> {now.get(key)!r}" for key in changed)
    return (
        f"Note: params.yaml's {section(params, model)}.{model} has changed since this study "
        f"started ({shown}); its trials were compared with the model as it was then."
    )


def best(args: Settings) -> None:
    """Print the best trial and the command that trains it in the pipeline, where its test
    accuracy is measured once, after the choice."""
    stored = stored_study(args)
    params, space, study = stored.params, stored.space, stored.study
    if study is not None:
        found = from_study(study, complete_trials(study), space.model)
    else:
        found = from_tracked(args)
    name, model, number, values, facts = found
    line = f"search {name}: best trial {number}, {facts['best_accuracy']:.4f}"
    if facts.get("current_trial") is not None:
        line += (
            f" ({facts['difference']:+.4f} against the current model, trial "
            f"{facts['current_trial']}, paired p = {facts['p']:.3f})"
        )
    print(line)
    note = changed_since(facts, params, space.model)
    if note:
        print(note)
    where = section(params, model)
    if number == facts.get("current_trial"):
        print("The best trial is the model this study started from: nothing to promote.")
        return
    promoted = promotion(model, values, current_settings(params, model), where)
    if not promoted.changed and where == "ensembles":
        print(
            f"The best is ensembles.{model}, an entry of params.yaml that the pipeline already "
            "trains and scores (metrics/report.md): nothing to promote."
        )
        return
    if not promoted.changed:
        print(f"The current {where}.{model} is the best: nothing to promote.")
        return
    p = facts.get("p_holm", facts.get("p"))
    if p is not None and p >= NOISE_P:
        corrected = f", Holm-adjusted for {facts['compared']} settings" if "p_holm" in facts else ""
        print(
            f"The difference is inside seed noise (p = {p:.3f}{corrected}, >= {NOISE_P}): this "
            "search does not support a change. To try it in the pipeline anyway:"
        )
    print(promoted.command)
