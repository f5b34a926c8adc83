"""One fit of a cross-validation fold, set up as the train stage sets up a training: its batches
(length buckets for the recurrent models), the part of its training newswires early stopping
watches, the stopping rule, and a compiled model put back to a fresh build's start.
"""

from __future__ import annotations

import numpy as np

from reuters_rnn.params import Params
from reuters_rnn.specs import ModelSpec


def batched(inputs, onehot, fitted, look_at, buckets, seed, params: Params) -> dict:
    """model.fit's data for one fit, as train batches it: with length buckets (recurrent models
    under train.length_buckets) batches of similar lengths, reshuffled per (seed, epoch)."""
    from reuters_rnn.batching import LengthBuckets

    if not buckets:
        return {
            "x": inputs[fitted],
            "y": onehot[fitted],
            "batch_size": params.train.batch_size,
            "validation_data": (inputs[look_at], onehot[look_at]),
            "validation_batch_size": len(look_at),
        }
    pad, size = params.data.padding, params.train.batch_size
    return {
        "x": LengthBuckets(inputs[fitted], onehot[fitted], size, buckets, pad, seed),
        "validation_data": LengthBuckets(
            inputs[look_at], onehot[look_at], len(look_at), buckets, pad
        ),
    }


def watched_part(train: np.ndarray, params: Params) -> tuple[np.ndarray, np.ndarray | None]:
    """A fold's training newswires split as train splits the training split under
    train.early_stopping: the last validation_fraction watched (None without early stopping)."""
    stopping = params.train.early_stopping
    if stopping is None:
        return train, None
    cut = int(round(len(train) * (1 - stopping.validation_fraction)))
    return train[:cut], train[cut:]


def keep_best(params: Params, spec: ModelSpec):
    """Keras's EarlyStopping on the rule of train's KeepBest: the watched part's cross-entropy of
    the true topics (not the smoothed loss), stop after `patience` epochs without a new minimum
    (the first of equal ones), end with the best epoch's weights."""
    import keras

    monitor = "val_cross_entropy" if spec.label_smoothing else "val_loss"
    return keras.callbacks.EarlyStopping(
        monitor=monitor,
        mode="min",
        patience=params.train.early_stopping.patience,
        restore_best_weights=True,
    )


def start_over(net, fresh) -> None:
    """Put a compiled model back where `fresh` (built from the same spec and seed) starts: its
    weights and dropout seeds, and a new optimizer state. Its next fit trains exactly as `fresh`
    would, without compiling the steps again (about 40 % of a swem fit)."""
    for variable, initial in zip(net.variables, fresh.variables, strict=True):
        variable.assign(initial)
    for variable in net.optimizer.variables:
        if not variable.path.endswith("learning_rate"):
            variable.assign(np.zeros(variable.shape, variable.dtype))
