"""The training split alone -> repeated k-fold cross-validation accuracy of one model spec.

The protocol model search scores every trial with: fold k holds out every k-th training newswire,
each fold is trained once per seed, by the train stage's own recipe (reuters_rnn.recipe: built,
batched, watched and stopped as `train` does it; under train.early_stopping the last part of the
fold's training newswires is watched). A baseline is fitted once per fold by the baseline stage's
builder. Only x_train and labels_train are read (checked against prepare's manifest): the test
split is never opened. Keras loads on the first cross_validate: choose the backend first.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from reuters_rnn.dataset import MANIFEST, NUM_CLASSES, load_prepared
from reuters_rnn.params import Params
from reuters_rnn.specs import ModelSpec

TRAINING_ARRAYS = ("x_train", "labels_train")
# Intermediate values are reported at step fit * STEPS_PER_FIT + epoch: the same step means the
# same fit and epoch in every trial, whatever its number of epochs.
STEPS_PER_FIT = 100_000


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


Report = Callable[[int, float], bool]  # (step, held-out accuracy) -> stop this trial?

# A worker's held-out probabilities of every fit it completed, by (fits_key, seed, fold) (a
# baseline's seed is None), and its complete cross-validations by fits_key: an ensemble's
# trial averages its members' fits from here, and a model's later trial is its earlier one.
HELD_OUT: dict[tuple, np.ndarray] = {}
FITTED: dict[tuple, dict] = {}


def data_key(x: np.ndarray, k: int) -> tuple:
    """What identifies a worker's folds: the training split's size and content, and k."""
    return (len(x), hash(x.tobytes()), k)


def fits_key(x: np.ndarray, k: int, spec, params: Params) -> tuple:
    """What decides a spec's fits on these folds: the folds, the spec, and how params trains."""
    return (data_key(x, k), spec.model_dump_json(), params.train.model_dump_json())


# A worker's TF-IDF matrices by (data, fold, vectorizer setting): a trial that changes only the
# classifier's keys (C, class weights) reuses its folds' features instead of recomputing them.
_FEATURES: OrderedDict[tuple, tuple] = OrderedDict()
FEATURES_KEPT = 40  # about 1 GB for the whole set's folds with word triples


def fold_features(spec, x: np.ndarray, train: np.ndarray, held: np.ndarray, key: tuple) -> tuple:
    """baselines.features of one fold, from the worker's cache when it holds them."""
    from reuters_rnn.baselines import features

    if key in _FEATURES:
        _FEATURES.move_to_end(key)
        return _FEATURES[key]
    found = _FEATURES[key] = features(spec, x[train], x[held])
    while len(_FEATURES) > FEATURES_KEPT:
        _FEATURES.popitem(last=False)
    return found


def cross_validate_baseline(
    spec, params: Params, x: np.ndarray, labels: np.ndarray, k: int
) -> dict:
    """A baseline's held-out accuracy per fold, fitted as the baseline stage fits it. Its fit is
    deterministic, so each fold is fitted once and its accuracy stands for every seed: the list
    pairs fit for fit with a neural model's (seed-major)."""
    from reuters_rnn.baselines import fit_predict, vectorizer_key

    key = fits_key(x, k, spec, params)
    if key in FITTED:
        return FITTED[key]  # this worker's fits of the same spec
    accuracies: list[float] = []
    start = time.perf_counter()
    data = data_key(x, k)
    for fold, (train, held) in enumerate(folds(len(x), k)):
        setting = vectorizer_key(spec)
        cached = fold_features(spec, x, train, held, (data, fold, setting)) if setting else None
        probabilities = fit_predict(spec, x[train], labels[train], x[held], cached)
        HELD_OUT[(*key, None, fold)] = probabilities
        accuracies.append(float((probabilities.argmax(axis=1) == labels[held]).mean()))
    seconds = time.perf_counter() - start
    FITTED[key] = {
        "accuracies": accuracies * len(params.train.seeds),
        "losses": [],
        "fit_seconds": seconds,
        "fits": k,
        "stopped": False,
    }
    return FITTED[key]


def cross_validate(
    spec: ModelSpec,
    params: Params,
    model: str,
    x: np.ndarray,
    labels: np.ndarray,
    k: int,
    report: Report | None = None,
    fitted: Callable | None = None,
) -> dict:
    """Every (seed, fold) fit's held-out accuracy (and last training loss, and epochs run) in
    that order, seed-major; seconds spent in model.fit; and `stopped` when `report` asked to stop
    (pruning) after some epoch. Each fit is the train stage's (reuters_rnn.recipe), on the fold's
    training newswires; the model is compiled once, for the first fit, and each later fit starts
    from the weights a fresh build with its seed would have. `fitted(net)` sees each fit's model
    after its fit (to keep or inspect it)."""
    key = fits_key(x, k, spec, params)
    if report is None and fitted is None and key in FITTED:
        return FITTED[key]  # this worker's fits of the same spec
    import keras

    from reuters_rnn.recipe import Recipe

    recipe = Recipe(params, model, spec)
    onehot = np.eye(NUM_CLASSES, dtype="float32")[labels]
    accuracies: list[float] = []
    losses: list[float] = []  # each fit's last training loss
    epochs_run: list[int] = []  # each fit's epochs (fewer than `epochs` when it stopped early)
    fit_seconds, net, stopped = 0.0, None, []
    for seed in params.train.seeds:
        for fold_number, (train, held) in enumerate(folds(len(x), k)):
            fold = {"x_train": x[train], "y_train": onehot[train], "labels_train": labels[train]}
            if report or params.train.early_stopping:  # watched each epoch; else only trained
                fold |= {"x_test": x[held], "y_test": onehot[held], "labels_test": labels[held]}
            data, watched = recipe.watched(fold)
            if net is None:  # the trial's first fit: compiled as train compiles it
                net = recipe.build(seed, data["x_train"])
            else:  # later fits reuse the compiled steps, from where a new build starts
                recipe.restart(net, seed)
            _, _, callbacks = recipe.callbacks([], watched if "x_test" in data else None)
            if report:
                offset = len(accuracies) * STEPS_PER_FIT

                def watch(epoch: int, logs: dict, net=net, offset=offset) -> None:
                    if report(offset + epoch + 1, float(logs["val_accuracy"])):
                        stopped.append(epoch + 1)
                        net.stop_training = True

                callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=watch))
            start = time.perf_counter()
            history = recipe.fit(net, data, seed, callbacks)
            fit_seconds += time.perf_counter() - start
            if fitted:
                fitted(net)
            probabilities = recipe.predict(net, x[held])
            accuracies.append(float((probabilities.argmax(axis=1) == labels[held]).mean()))
            losses.append(float(history.history["loss"][-1]))
            epochs_run.append(len(history.history["loss"]))
            if not stopped:
                HELD_OUT[(*key, seed, fold_number)] = probabilities
            if stopped:  # a pruned fit is no member's fit
                return {
                    "accuracies": accuracies,
                    "losses": losses,
                    "fit_seconds": fit_seconds,
                    "epochs": epochs_run,
                    "stopped": True,
                }
    FITTED[key] = {
        "accuracies": accuracies,
        "losses": losses,
        "fit_seconds": fit_seconds,
        "epochs": epochs_run,
        "stopped": False,
    }
    return FITTED[key]
