"""Keras callbacks of a training: per-epoch curves in memory, a progress line, periodic backups.

Plain Keras 3 callbacks with epoch hooks only (a batch hook makes Keras stop after every compiled
call), so any backend works and an epoch costs what a bare `model.fit` costs.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from reuters_rnn.fit.live import LiveFiles, write_summary
from reuters_rnn.fit.run_state import CURVE_COLUMNS


class EpochLog(keras.callbacks.Callback):
    """Keep each epoch's train and held-out accuracy and loss as rows (the held-out one when the
    fit watches a held-out part), and print one line at most every `every` seconds
    ($PROGRESS_EVERY, default 10; 0: every epoch) and at the end: epoch, metrics and time left;
    nothing without a label (a search's fold). The loss kept is the cross-entropy of the true
    topics: Keras's loss, or with label smoothing the `cross_entropy` metric compile_model adds."""

    def __init__(
        self, label: str | None, epochs: int, held_out: str | None, rows: list[dict]
    ) -> None:
        super().__init__()
        self.label, self.epochs, self.held_out, self.rows = label, epochs, held_out, rows
        self.every = float(os.environ.get("PROGRESS_EVERY", 10))
        self.started = self.shown = time.perf_counter()
        self.first_epoch: int | None = None
        self.first_epoch_ended = 0.0  # wall clock (time.time), to compare across processes
        self.after_first = 0.0  # perf_counter at the end of the first epoch (compile included)

    def ms_per_epoch(self) -> float:
        """Milliseconds per epoch after the first one (which includes compiling the step)."""
        ran = len(self.rows) // 2 - (self.first_epoch or 0)
        if ran < 2:
            return round(1000 * (time.perf_counter() - self.started) / max(1, ran), 1)
        return round(1000 * (time.perf_counter() - self.after_first) / (ran - 1), 1)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.started = self.shown = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = {k: float(v) for k, v in (logs or {}).items()}
        for prefix, split in (("", "train"), ("val_", self.held_out)):
            if f"{prefix}accuracy" not in logs:
                continue
            self.rows.append(
                {
                    "epoch": epoch + 1,
                    "split": split,
                    "accuracy": round(logs[f"{prefix}accuracy"], 4),
                    "loss": round(logs.get(f"{prefix}cross_entropy", logs[f"{prefix}loss"]), 4),
                }
            )
        now = time.perf_counter()
        if self.first_epoch is None:
            self.first_epoch, self.first_epoch_ended, self.after_first = epoch, time.time(), now
        if self.label is None or (now - self.shown < self.every and epoch + 1 < self.epochs):
            return
        self.shown = now
        shown = ", ".join(
            f"{metric.replace('val_', f'{self.held_out} ')} {value:.4f}"
            for metric, value in logs.items()
        )
        line = f"{self.label}: epoch {epoch + 1}/{self.epochs}: {shown}; {self.pace(epoch, now)}"
        print(line, flush=True)

    def pace(self, epoch: int, now: float) -> str:
        """ms per epoch and time left, from the epochs after the first: the first one compiles
        the step and can take ten times as long."""
        after_first = epoch - (self.first_epoch or 0)
        if after_first == 0:
            return f"first epoch (compiling) {now - self.started:.1f} s"
        per_epoch = (now - self.after_first) / after_first
        return (
            f"{per_epoch * 1000:.0f} ms/epoch, {per_epoch * (self.epochs - epoch - 1):.0f} s left"
        )


class StopOnNonFinite(keras.callbacks.Callback):
    """Stop the training after the first epoch whose loss is NaN or infinite (an epoch hook, like
    every callback here: Keras's TerminateOnNaN checks every batch)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not math.isfinite(float((logs or {}).get("loss", 0.0))):
            self.model.stop_training = True


class KeepBest(keras.callbacks.Callback):
    """Early stopping: stop when the held-out loss (the cross-entropy of the true topics, as the
    curves record it) has not improved for `patience` epochs, and end with the best epoch's
    weights. The best epoch is read off the recorded curves, so a resumed training decides as an
    uninterrupted one would; its weights travel in the backup."""

    def __init__(self, patience: int, held_out: str | None, rows: list[dict], weights=None) -> None:
        super().__init__()
        self.patience, self.held_out, self.rows, self.weights = patience, held_out, rows, weights

    def best_epoch(self) -> int:
        losses = [(row["loss"], row["epoch"]) for row in self.rows if row["split"] == self.held_out]
        return min(losses)[1] if losses else 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        best = self.best_epoch()
        if best == epoch + 1:
            self.weights = self.model.get_weights()
        elif epoch + 1 - best >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.weights is not None:
            self.model.set_weights(self.weights)


class LiveCurves(keras.callbacks.Callback):
    """Append each epoch's rows (the epoch log's) to the curves CSV as soon as they exist, so
    `dvc plots show` and DVC's VS Code extension show a training while it runs, and rewrite the
    live summary (LiveFiles). A resumed training first writes the epochs its backup restored;
    the train stage removes a seed's old rows before it starts, so no epoch appears twice. One
    small append per epoch, atomic on a local disk, so the seeds' workers can share the file."""

    def __init__(self, files: LiveFiles, seed: int, rows: list[dict]) -> None:
        super().__init__()
        self.files, self.seed, self.rows, self.written = files, seed, rows, 0

    def flush(self) -> None:
        new = self.rows[self.written :]
        if new:
            lines = "".join(
                ",".join(str(({"seed": self.seed} | row)[key]) for key in CURVE_COLUMNS) + "\n"
                for row in new
            )
            with self.files.curves.open("a") as curves:
                curves.write(lines)
            write_summary(self.files)
        self.written = len(self.rows)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.flush()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.flush()


def seed_states(model: keras.Model) -> list:
    """The states of the model's dropout seed generators: a .keras file leaves them out, and a
    resumed training must draw the dropout masks the uninterrupted one draws."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


class Backup(keras.callbacks.Callback):
    """Every `every` epochs, save the model (with its optimizer state), the curves so far and the
    epoch count into `folder`, atomically: a kill loses at most `every` epochs. With early
    stopping, the best epoch's weights too."""

    def __init__(
        self, folder: Path, every: int, rows: list[dict], keep_best: KeepBest | None = None
    ) -> None:
        super().__init__()
        self.folder, self.every, self.rows, self.keep_best = folder, every, rows, keep_best

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every:
            return
        tmp = self.folder / "state.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        self.model.save(tmp / "model.keras")
        pd.DataFrame(self.rows).to_csv(tmp / "curves.csv", index=False)
        (tmp / "epoch.json").write_text(json.dumps({"epoch": epoch + 1}))
        if self.keep_best is not None and self.keep_best.weights is not None:
            np.savez(tmp / "best_weights.npz", *self.keep_best.weights)
        np.savez(tmp / "seed_states.npz", *[np.asarray(v) for v in seed_states(self.model)])
        state, old = self.folder / "state", self.folder / "state.old"
        if state.exists():  # keep the last good backup until the new one is in place
            shutil.rmtree(old, ignore_errors=True)
            os.replace(state, old)
        os.replace(tmp, state)
        shutil.rmtree(old, ignore_errors=True)


def restore(folder: Path) -> tuple[keras.Model, int, list[dict], list | None] | None:
    """The model, finished epochs, curves and (with early stopping) best weights of the last
    backup in `folder`, if there is one."""
    state = next(
        (s for s in (folder / "state", folder / "state.old") if (s / "epoch.json").exists()), None
    )
    if state is None:
        return None
    done = json.loads((state / "epoch.json").read_text())["epoch"]
    rows = pd.read_csv(state / "curves.csv").to_dict("records")
    best = None
    if (state / "best_weights.npz").exists():
        with np.load(state / "best_weights.npz") as saved:
            best = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    model = keras.models.load_model(state / "model.keras")
    if (state / "seed_states.npz").exists():
        with np.load(state / "seed_states.npz") as saved:
            for i, variable in enumerate(seed_states(model)):
                variable.assign(saved[f"arr_{i}"])
    return model, done, rows, best
