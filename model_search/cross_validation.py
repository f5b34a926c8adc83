"""The training split alone -> repeated k-fold cross-validation accuracy of one model spec.

The protocol model search scores every trial with: fold k holds out every k-th training newswire,
each fold is fitted once per seed by the entry's own fit_predict (reuters_rnn.fit.entries), the one
its stage calls: a model built, batched, watched and stopped as `train` does it (under
train.early_stopping the last part of the fold's training newswires is watched), a baseline
fitted once per fold, an ensemble averaging its members' fits. Only x_train and labels_train are
read (checked against prepare's manifest): the test split is never opened.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reuters_rnn.data.dataset import MANIFEST, load_prepared
from reuters_rnn.fit.entry import Entry, Memo, Split

TRAINING_ARRAYS = ("x_train", "labels_train")


def training_split(directory: str | Path) -> tuple[np.ndarray, np.ndarray, str]:
    """x_train, labels_train (checked against prepare's manifest; the test arrays are never
    opened) and the sha256 of both, which identifies the data a study was scored on."""
    arrays = load_prepared(directory, TRAINING_ARRAYS)
    manifest = json.loads((Path(directory) / MANIFEST).read_text())
    identity = "".join(manifest[f"{name}.npy"] for name in TRAINING_ARRAYS)
    return arrays["x_train"], arrays["labels_train"], identity


def folds(n: int, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, held-out) indices: fold i holds out newswires i, i + k, i + 2k, ..."""
    every = np.arange(n)
    return [(np.setdiff1d(every, every[i::k]), every[i::k]) for i in range(k)]


@dataclass(frozen=True)
class CrossValidation:
    """A cross-validation's result. `accuracies` has one per (seed, fold), seed-major, so two
    entries' lists pair fit for fit; an unseeded entry's fold (a baseline's, a pooled
    ensemble's) stands for every seed. `pruned_at`: (fits done, their mean accuracy) where the
    pruner stopped it, None for a complete one."""

    accuracies: list[float]
    losses: list[float]  # each model fit's last training loss
    epochs: list[int]  # each model fit's epochs (fewer than `epochs` when it stopped early)
    fit_seconds: float
    fits: int
    pruned_at: tuple[int, float] | None = None


def data_key(x: np.ndarray, k: int) -> tuple:
    """What identifies a worker's folds: the training split's size and content, and k."""
    return (len(x), hash(x.tobytes()), k)


def cross_validate(
    entry: Entry,
    x: np.ndarray,
    labels: np.ndarray,
    k: int,
    report: Callable[[int, float], bool] | None = None,
    memo: Memo | None = None,
) -> CrossValidation:
    """Every (seed, fold) fit of `entry`, each by its own fit_predict (the stage's fit) on the
    fold's training newswires, scored on the fold's held-out ones. After each fit,
    `report(fits, mean accuracy so far)` (the trial's intermediate value, the fits its resource)
    may stop the cross-validation by answering True: a pruner's decision. `memo` keeps the fits
    for a later trial (an ensemble's members, a setting tried again) and gives back those it
    holds."""
    data = data_key(x, k)
    accuracies: list[float] = []
    losses: list[float] = []
    epochs: list[int] = []
    seconds = 0.0
    for seed in entry.seeds():
        for fold, (train, held) in enumerate(folds(len(x), k)):
            split = Split(x[train], labels[train], x[held], labels[held], (*data, fold))
            fit = entry.fit_predict(split, seed, memo)
            seconds += fit.seconds
            accuracies.append(float((fit.probabilities.argmax(axis=1) == labels[held]).mean()))
            if fit.loss is not None and fit.epochs_run is not None:  # a model's fit
                losses.append(fit.loss)
                epochs.append(fit.epochs_run)
            mean = sum(accuracies) / len(accuracies)
            if report is not None and report(len(accuracies), mean):
                pruned = (len(accuracies), mean)
                return CrossValidation(accuracies, losses, epochs, seconds, len(accuracies), pruned)
    fits = len(accuracies)
    if not entry.seeded:  # one fit per fold stands for every seed's
        accuracies *= len(entry.params.train.seeds)
    return CrossValidation(accuracies, losses, epochs, seconds, fits)
