"""A Keras callback that logs each epoch to dvclive and prints one readable progress line.

dvclive's own DVCLiveCallback imports tf.keras; this one is plain Keras 3, so any backend works.
"""

from __future__ import annotations

import time

import keras
from dvclive import Live


class EpochLog(keras.callbacks.Callback):
    """Log every metric at step = epoch (so a resumed run continues its curve) and print it."""

    def __init__(self, live: Live, label: str, epochs: int) -> None:
        super().__init__()
        self.live, self.label, self.epochs = live, label, epochs
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        self.live.step = epoch
        for metric, value in logs.items():
            self.live.log_metric(metric, float(value))
        shown = " ".join(f"{metric} {float(value):.4f}" for metric, value in logs.items())
        took = time.perf_counter() - self.started
        print(f"{self.label}: epoch {epoch + 1}/{self.epochs} {shown} ({took:.2f}s)", flush=True)
