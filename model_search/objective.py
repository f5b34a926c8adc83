"""A trial: the model and spec keys it sets (sampled from its space), scored by cross-validation
on the training split. Optuna maximizes the mean accuracy over the fits.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import optuna

from model_search.candidates import (
    CURRENT,
    candidate_model,
    entry,
    grid_candidates,
    label,
    spec_for,
    trained_as,
)
from model_search.space import Choices, GridSpace, IntRange, SearchFile
from reuters_rnn.schema.params import Params


def suggest(trial: optuna.Trial, space) -> tuple[str, dict[str, Any]]:
    """The trial's model and the spec keys it sets."""
    if isinstance(space, GridSpace):
        name = trial.suggest_categorical("candidate", grid_candidates(space))
        return (space.model, {}) if name == CURRENT else candidate_model(space, name)
    values = {}
    for key, distribution in space.keys.items():
        if isinstance(distribution, Choices):
            labels = [label(choice) for choice in distribution.choices]
            picked = trial.suggest_categorical(key, labels)
            values[key] = distribution.choices[labels.index(picked)]
        else:
            number = (
                trial.suggest_int if isinstance(distribution, IntRange) else trial.suggest_float
            )
            values[key] = number(
                key,
                distribution.low,
                distribution.high,
                step=distribution.step,
                log=distribution.log,
            )
    return space.model, values


def objective_for(params: Params, search: SearchFile, space, x, labels):
    """The function Optuna maximizes: mean cross-validated accuracy of the trial's entry. The
    worker's memo keeps its fits: an ensemble's trial averages its members' fits from the
    worker's earlier trials, and a trial of a spec the worker fitted before is not refitted."""
    from model_search.cross_validation import cross_validate
    from reuters_rnn.fit.entries import of
    from reuters_rnn.fit.entry import Memo

    current = trained_as(entry(params, space.model), params)
    memo = Memo()

    def objective(trial: optuna.Trial) -> float:
        # Which machine and process runs it, first thing: a stopped run fails its own running
        # trials (study.stop_workers).
        where = {"host": socket.gethostname(), "pid": os.getpid(), "group": os.getpgrp()}
        trial.set_user_attr("worker", where)
        model, values = suggest(trial, space)
        spec = spec_for(params, model, values)
        trial.set_user_attr("model", model)
        trial.set_user_attr("set", values)
        trial.set_user_attr("current", model == space.model and trained_as(spec, params) == current)

        def report(step: int, accuracy: float) -> bool:
            trial.report(accuracy, step)
            return trial.should_prune()

        candidate = of(params, model, spec)
        planned = len(candidate.seeds()) * search.folds
        pruning = space.pruner != "none"
        result = cross_validate(
            candidate, x, labels, search.folds, report if pruning else None, memo
        )
        trial.set_user_attr("accuracies", result.accuracies)
        trial.set_user_attr("fit_seconds", round(result.fit_seconds, 2))
        trial.set_user_attr("fits", result.fits)
        if result.epochs:
            trial.set_user_attr("epochs_run", result.epochs)
        if result.pruned_at:
            fits, accuracy = result.pruned_at
            trial.set_user_attr("pruned_at", f"fit {fits} of {planned}: {accuracy:.4f}")
            raise optuna.TrialPruned()
        return sum(result.accuracies) / len(result.accuracies)

    return objective
