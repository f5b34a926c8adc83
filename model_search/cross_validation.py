"""The training split alone -> repeated k-fold cross-validation accuracy of one model spec.

The protocol model search scores every trial with: fold k holds out every k-th training newswire,
each fold is trained once per seed, models are built and compiled by reuters_rnn.models exactly as
train builds them, and with train.early_stopping they stop as train stops them (watching the last
part of the fold's training newswires). A baseline is fitted once per fold by the baseline stage's
builder. Only x_train and labels_train are read (checked against prepare's manifest): the test
split is never opened. Keras loads on the first cross_validate: choose the backend first.
"""

from __future__ import annotations

import json
import math
import time
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


def cross_validate_baseline(
    spec, params: Params, x: np.ndarray, labels: np.ndarray, k: int
) -> dict:
    """A baseline's held-out accuracy per fold, fitted as the baseline stage fits it. Its fit is
    deterministic, so each fold is fitted once and its accuracy stands for every seed: the list
    pairs fit for fit with a neural model's (seed-major)."""
    from reuters_rnn.baselines import fit_predict

    accuracies: list[float] = []
    start = time.perf_counter()
    for train, held in folds(len(x), k):
        predicted = fit_predict(spec, x[train], labels[train], x[held]).argmax(axis=1)
        accuracies.append(float((predicted == labels[held]).mean()))
    seconds = time.perf_counter() - start
    return {
        "accuracies": accuracies * len(params.train.seeds),
        "losses": [],
        "fit_seconds": seconds,
        "fits": k,
        "stopped": False,
    }


def cross_validate(
    spec: ModelSpec,
    params: Params,
    model: str,
    x: np.ndarray,
    labels: np.ndarray,
    k: int,
    report: Report | None = None,
) -> dict:
    """Every (seed, fold) fit's held-out accuracy (and last training loss, and epochs run) in
    that order, seed-major; seconds spent in model.fit; and `stopped` when `report` asked to stop
    (pruning) after some epoch. The model is compiled once, for the first fit; each later fit
    starts from the weights a fresh build with its seed would have."""
    import keras

    from model_search.fold_fit import batched, keep_best, start_over, watched_part
    from reuters_rnn.batching import predict
    from reuters_rnn.models import build_model, compile_model, length_buckets, model_inputs

    onehot = np.eye(NUM_CLASSES, dtype="float32")[labels]
    inputs = model_inputs(spec, x)
    buckets = length_buckets(spec, params.train.length_buckets)
    length = None if buckets else x.shape[1]  # buckets: any length, as train builds it
    epochs = spec.epochs or params.train.epochs
    learning_rate = spec.learning_rate or params.train.learning_rate
    accuracies: list[float] = []
    losses: list[float] = []  # each fit's last training loss
    epochs_run: list[int] = []  # each fit's epochs (fewer than `epochs` when it stopped early)
    fit_seconds = 0.0
    net = None
    for seed in params.train.seeds:
        for train, held in folds(len(x), k):
            fitted, watched = watched_part(train, params)
            keras.utils.set_random_seed(seed)
            fresh = build_model(model, spec, length, NUM_CLASSES, params.data.num_words)
            if net is None:  # the trial's first fit: compiled as train compiles it
                steps = 1 if buckets else math.ceil(len(fitted) / params.train.batch_size)
                net = compile_model(
                    fresh, learning_rate, steps, params.train.jit_compile, spec.label_smoothing
                )
            else:  # later fits reuse the compiled steps, from where `fresh` starts
                start_over(net, fresh)
            offset, stopped = len(accuracies) * STEPS_PER_FIT, []

            def watch(epoch: int, logs: dict, net=net, offset=offset, stopped=stopped) -> None:
                if report(offset + epoch + 1, float(logs["val_accuracy"])):
                    stopped.append(epoch + 1)
                    net.stop_training = True

            callbacks = [keras.callbacks.LambdaCallback(on_epoch_end=watch)] if report else []
            if watched is not None:
                callbacks.append(keep_best(params, spec))
            look_at = held if watched is None else watched
            batches = batched(inputs, onehot, fitted, look_at, buckets, seed, params)
            start = time.perf_counter()
            history = net.fit(
                **batches,
                # Without pruning or early stopping, the held-out set is scored once, at the end.
                validation_freq=1 if report or watched is not None else epochs,
                epochs=epochs,
                callbacks=callbacks,
                verbose=0,
            )
            fit_seconds += time.perf_counter() - start
            if watched is None:
                accuracies.append(float(history.history["val_accuracy"][-1]))
            else:  # the best epoch's weights are back: score them on the fold's held-out part
                predicted = predict(net, inputs[held], buckets, params.data.padding)
                accuracies.append(float((predicted.argmax(axis=1) == labels[held]).mean()))
            losses.append(float(history.history["loss"][-1]))
            epochs_run.append(len(history.history["loss"]))
            if stopped:
                break
        else:
            continue
        break
    return {
        "accuracies": accuracies,
        "losses": losses,
        "fit_seconds": fit_seconds,
        "epochs": epochs_run,
        "stopped": bool(stopped),
    }
