"""A search's study -> tracked results: search/<space>/ (trials table, plots for `dvc plots show`,
the best trial's paired comparison with the current model) and the promotion command.

Files only, no Keras: `report` and `best` run anywhere the storage is reachable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import yaml
from optuna.trial import FrozenTrial, TrialState

from model_search.candidates import section
from model_search.settings import Settings
from model_search.space import Choices, GridSpace, SearchError
from model_search.stored import StudyMissing, load, run_command, stored_study
from model_search.study import score_of, seconds_of
from model_search.summary import plots_yaml, summary_markdown
from reuters_rnn.evaluation.resampling import holm
from reuters_rnn.evaluation.statistics import paired
from reuters_rnn.plumbing.atomic import atomic_path


def trials_table(trials: list[FrozenTrial], keys: list[str]) -> pd.DataFrame:
    """One row per finished trial: its settings, mean ± std accuracy over the fits, seconds."""
    rows = []
    for trial in trials:
        scores = np.asarray(trial.user_attrs.get("accuracies", []))
        seconds = seconds_of(trial)
        rows.append(
            {
                "trial": trial.number,
                "state": trial.state.name.lower(),
                "accuracy": round(float(scores.mean()), 4) if len(scores) else None,
                "std": round(float(scores.std()), 4) if len(scores) else None,
                "fits": trial.user_attrs.get("fits", len(scores)),
                "seconds": round(seconds, 1),
                "fit_seconds": trial.user_attrs.get("fit_seconds"),
                "current": bool(trial.user_attrs.get("current")),
                "pruned_at": trial.user_attrs.get("pruned_at"),
                **{key: trial.params.get(key) for key in keys},
                "model": trial.user_attrs.get("model"),
                "set": settings(trial.user_attrs.get("set", {})),
                # The same as data, for `best` in a clone without the study's storage.
                "settings": json.dumps(trial.user_attrs.get("set", {})),
            }
        )
    return pd.DataFrame(rows)


def settings(values: dict[str, Any]) -> str:
    """`embedding_dim=96 pooling=[mean, max]`: what a trial set, as `-S` would take it."""
    return (
        " ".join(f"{key}={yaml_value(value)}" for key, value in values.items()) or "as params.yaml"
    )


def yaml_value(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("\n...")


def history_table(complete: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per complete trial in trial order and the best so far."""
    history = complete[["trial", "accuracy"]].sort_values("trial")
    return history.assign(best=history["accuracy"].cummax())


def per_value_tables(
    complete: pd.DataFrame,
    keys: list[str],
    categorical: set[str],
    logarithmic: Collection[str] = (),
) -> dict:
    """key -> (each complete trial's value and accuracy, the plot template that draws it):
    choices as rows of points (a `null` choice labelled so, not left blank), numbers on an axis
    (a log one for a range searched on a log scale, as C is)."""
    tables = {}
    for key in keys:
        values = complete[["trial", key, "accuracy"]].rename(columns={key: "value"})
        if key in categorical:
            shown = values["value"].astype(object).where(values["value"].notna(), "null")
            tables[key] = (values.assign(value=shown), "search_choices")
        else:
            template = "search_values_log" if key in logarithmic else "search_values"
            tables[key] = (values, template)
    return tables


def distinct_fits(trial: FrozenTrial) -> list[float]:
    """A trial's accuracy per distinct fit: a baseline's per-fold accuracies are repeated for
    every seed (to pair with a neural model's fits), but two baseline trials pair over the folds
    alone, or the repeats would understate the paired test's p."""
    accuracies = trial.user_attrs["accuracies"]
    return accuracies[: trial.user_attrs.get("fits", len(accuracies))]


def started_from(study: optuna.Study, model: str) -> dict | None:
    """The spec of `model` in params.yaml when the study began (its identity), or None."""
    identity = study.user_attrs.get("identity")
    return identity["models"].get(model) if isinstance(identity, dict) else None


def comparison(
    complete: list[FrozenTrial], start: dict | None = None, folds: int | None = None
) -> dict:
    """The best trial against the current model's trial, over the same fits: the paired t-test's
    p (with `folds`, Nadeau and Bengio's corrected one: the folds' training parts overlap), and
    that p Holm-adjusted for every other trial compared with the current model (a search that
    tries many settings finds one that looks better by chance). `start`: the model's spec when
    the study began, to tell a reader of the tracked results what "current" meant."""
    best = max(complete, key=score_of)
    facts: dict[str, Any] = {"best_trial": best.number, "best_accuracy": round(score_of(best), 4)}
    if start is not None:
        facts["started_from"] = start
    current = next((t for t in complete if t.user_attrs.get("current")), None)
    if current is None:
        return {**facts, "current_trial": None}
    others = [t for t in complete if t.number != current.number]
    reference = distinct_fits(current)
    p_values = [paired(distinct_fits(t), reference, folds)[1] for t in others]
    difference, p = paired(distinct_fits(best), reference, folds)
    adjusted = holm(p_values)[others.index(best)] if best in others else 1.0
    return {
        **facts,
        "current_trial": current.number,
        "current_accuracy": round(score_of(current), 4),
        "difference": round(difference, 4),
        "p": round(p, 4),
        "p_holm": round(float(adjusted), 4),
        "compared": len(others),
        "fits": len(reference),
    }


def plots_project(folder: Path) -> None:
    """Make `folder` (search/) a DVC project of its own, once, so that the searches' plots stay
    off the pipeline's page (`dvc plots show` skips a folder that is a project of its own) and
    `cd search && dvc plots show` draws them on a page of their own, with the enclosing
    project's templates (.dvc/plots, linked) and its offline page."""
    dvc = folder / ".dvc"
    if dvc.exists():
        return
    found = [p for p in folder.resolve().parents if (p / ".dvc" / "plots").is_dir()]
    pages = [
        p / ".dvc" / "plots" / "page.html" for p in found if (p / ".dvc/plots/page.html").exists()
    ]
    if not found:
        return  # not inside a DVC project: nothing to draw the plots with
    dvc.mkdir(parents=True)
    (dvc / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")
    (dvc / "plots").symlink_to(os.path.relpath(found[0] / ".dvc" / "plots", dvc))
    page = f"[plots]\n    html_template = {os.path.relpath(pages[0], dvc)}\n" if pages else ""
    (dvc / "config").write_text(
        "# The searches' plots, on their own page: `dvc plots show` here (model_search.results).\n"
        f"[core]\n    analytics = false\n    check_update = false\n{page}"
    )


def complete_trials_in(table: Path) -> int:
    """How many complete trials a written report holds (0 for none, or one that cannot be read:
    nothing there to keep)."""
    try:
        return int((pd.read_csv(table)["state"] == "complete").sum())
    except (OSError, ValueError, KeyError):
        return 0


def report(args: Settings) -> None:
    """Write search/<space>/ from the study: trials.csv, history.csv, by_<key>.csv, their
    dvc.yaml plots, comparison.json and summary.md; all at once, or nothing. Where no storage
    holds the study but search/<study>/ does (a fresh clone), it says where to read it."""
    tracked = Path(args.out or f"search/{args.study or args.space}")
    if stored_study(args).study is None and (tracked / "summary.md").exists():
        raise StudyMissing(
            f"search: no storage here holds study {args.study or args.space!r}; its committed "
            f"report is {tracked}/summary.md (trials in trials.csv, the best in comparison.json), "
            f"and `{run_command(args, 'best')}` answers from it. To add trials: "
            f"`{run_command(args)}`"
        )
    loaded = load(args)
    params, search, space, study = loaded.params, loaded.search, loaded.space, loaded.study
    complete = list(loaded.complete)
    keys = ["candidate"] if isinstance(space, GridSpace) else list(space.keys)
    categorical = {"candidate"} | {
        k for k, d in getattr(space, "keys", {}).items() if isinstance(d, Choices)
    }
    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    table = trials_table(finished, keys)
    facts = comparison(complete, started_from(study, space.model), search.folds)
    current = next((t for t in complete if t.user_attrs.get("current")), None)
    table["vs_current"], table["p"] = np.nan, np.nan
    for i, trial in enumerate(finished):
        if current is not None and trial.state == TrialState.COMPLETE:
            table.loc[i, ["vs_current", "p"]] = [
                round(x, 4)
                for x in paired(distinct_fits(trial), distinct_fits(current), search.folds)
            ]
    done = table[table["state"] == "complete"]
    logarithmic = {k for k, d in getattr(space, "keys", {}).items() if getattr(d, "log", False)}
    tables = per_value_tables(done, keys, categorical, logarithmic)
    counts = table["state"].value_counts().to_dict()
    header = (
        f"`{section(params, space.model)}.{space.model}` of params.yaml, {search.folds}-fold "
        "cross-validation on the "
        f"training split x seeds {list(params.train.seeds)} (the same fits for every trial; the "
        f"test split never loaded). Trials: {counts.get('complete', 0)} complete, "
        f"{counts.get('pruned', 0)} pruned."
    )
    out = Path(args.out or f"search/{study.study_name}")
    kept = complete_trials_in(out / "trials.csv")
    if kept > len(done) and not args.force:
        raise SearchError(
            f"search: {out}/ holds {kept} complete trials, the study in this storage "
            f"{len(done)}: kept as it is. To replace it with this study's results: "
            f"`{run_command(args, 'report')} --force`"
        )
    plots_project(out.parent)
    with atomic_path(out, directory=True) as tmp:
        table.to_csv(tmp / "trials.csv", index=False)
        history_table(done).to_csv(tmp / "history.csv", index=False)
        for key, (values, _) in tables.items():
            values.to_csv(tmp / f"by_{key}.csv", index=False)
        (tmp / "comparison.json").write_text(json.dumps(facts, indent=2) + "\n")
        (tmp / "summary.md").write_text(
            summary_markdown(
                study.study_name,
                space.model,
                table,
                facts,
                header,
                {name: section(params, name) for name in [*params.baselines, *params.ensembles]},
            )
        )
        (tmp / "dvc.yaml").write_text(
            "# Written by `python -m model_search report`: the plots of this search.\n"
            + yaml.safe_dump(plots_yaml(study.study_name, tables), sort_keys=False)
        )
    print(f"search {study.study_name}: wrote {out}/ ({len(done)} complete trials)")
