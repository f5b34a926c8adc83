"""The training callbacks: a throttled progress line with time left, and backups that restore."""

from __future__ import annotations

import json

import keras
import numpy as np
import pandas as pd
import pytest

from reuters_rnn.fit.live import LiveFiles
from reuters_rnn.fit.progress import (
    Backup,
    EpochLog,
    KeepBest,
    LiveCurves,
    StopOnNonFinite,
    restore,
)
from reuters_rnn.fit.run_state import CURVE_COLUMNS

LOGS = {"accuracy": 0.5, "loss": 1.0, "val_accuracy": 0.4, "val_loss": 1.2}


def test_progress_prints_at_most_every_interval_and_the_last_epoch(capsys, monkeypatch):
    monkeypatch.delenv("PROGRESS_EVERY", raising=False)
    rows: list[dict] = []
    log = EpochLog("train lstm seed 1", epochs=5, held_out="test", rows=rows)
    log.on_train_begin()
    for epoch in range(5):
        log.on_epoch_end(epoch, LOGS)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1  # five quick epochs: only the last one is shown
    assert lines[0].startswith("train lstm seed 1: epoch 5/5: accuracy 0.5000, loss 1.0000")
    assert "test accuracy 0.4000" in lines[0] and lines[0].endswith("0 s left")
    assert [(r["epoch"], r["split"]) for r in rows[:2]] == [(1, "train"), (1, "test")]


def test_curves_keep_the_plain_cross_entropy_when_the_loss_is_smoothed():
    rows: list[dict] = []
    log = EpochLog("train swem seed 1", epochs=1, held_out="test", rows=rows)
    log.on_epoch_end(0, {**LOGS, "cross_entropy": 0.3, "val_cross_entropy": 0.6})
    assert [(r["split"], r["loss"]) for r in rows] == [("train", 0.3), ("test", 0.6)]


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_a_backup_restores_model_epoch_and_curves(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, verbose=0)
    rows = [{"epoch": 1, "split": "train", "accuracy": 0.5, "loss": 1.0}]
    backup = Backup(tmp_path, every=2, rows=rows)
    backup.set_model(model)
    backup.on_epoch_end(0)  # epoch 1: not a backup epoch
    assert restore(tmp_path) is None
    backup.on_epoch_end(1)
    restored, done, restored_rows, best = restore(tmp_path)
    assert done == 2 and restored_rows == rows and best is None  # no early stopping
    np.testing.assert_allclose(restored.get_weights()[0], model.get_weights()[0])


def test_time_left_leaves_out_the_first_compiling_epoch(capsys, monkeypatch):
    monkeypatch.setenv("PROGRESS_EVERY", "0")
    clock = iter([0.0, 0.0, 30.0, 30.5, 31.0])  # begin; epoch 1 ends after 30 s, then 0.5 s each
    monkeypatch.setattr("reuters_rnn.fit.progress.time.perf_counter", lambda: next(clock))
    log = EpochLog("train lstm seed 1", epochs=201, held_out="test", rows=[])
    log.on_train_begin()
    for epoch in range(3):
        log.on_epoch_end(epoch, LOGS)
    first, second, third = capsys.readouterr().out.splitlines()
    assert first.endswith("first epoch (compiling) 30.0 s") and "left" not in first
    assert second.endswith("500 ms/epoch, 100 s left")  # 199 epochs to go at 0.5 s, not 30 s
    assert third.endswith("500 ms/epoch, 99 s left")


def test_a_non_finite_loss_stops_the_training_after_that_epoch():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    stop = StopOnNonFinite()
    stop.set_model(model)
    model.stop_training = False  # as model.fit sets it
    stop.on_epoch_end(0, {"loss": 2.5})
    assert not model.stop_training
    stop.on_epoch_end(1, {"loss": float("nan")})
    assert model.stop_training


def test_early_stopping_ends_after_patience_with_the_best_weights_and_resumes_alike(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.stop_training = False  # as fit sets it
    rows: list[dict] = []
    keep = KeepBest(patience=2, held_out="early-stopping", rows=rows)
    backup = Backup(tmp_path, every=3, rows=rows, keep_best=keep)
    for callback in (keep, backup):
        callback.set_model(model)
    weights = {}
    for epoch, loss in enumerate([1.0, 0.8, 0.9, 0.85, 0.7]):
        model.set_weights([np.full_like(w, epoch) for w in model.get_weights()])
        weights[epoch + 1] = model.get_weights()
        rows += [
            {"epoch": epoch + 1, "split": "train", "accuracy": 0.5, "loss": 1.0},
            {"epoch": epoch + 1, "split": "early-stopping", "accuracy": 0.5, "loss": loss},
        ]
        keep.on_epoch_end(epoch)
        backup.on_epoch_end(epoch)
        if model.stop_training:
            break
    assert epoch + 1 == 4 and keep.best_epoch() == 2  # two epochs without a better loss
    keep.on_train_end()
    np.testing.assert_array_equal(model.get_weights()[0], weights[2][0])
    # The backup after epoch 3 carries epoch 2's weights; resumed, the same decision follows.
    _, done, restored_rows, best = restore(tmp_path)
    assert done == 3 and np.array_equal(best[0], weights[2][0])
    resumed = KeepBest(2, "early-stopping", restored_rows + rows[6:8], best)
    model.stop_training = False
    resumed.set_model(model)
    resumed.on_epoch_end(3)
    assert model.stop_training and resumed.best_epoch() == 2


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_live_curves_are_on_disk_when_each_epoch_ends_and_a_resumed_run_repeats_none(tmp_path):
    """Each epoch's rows are in the CSV by the time the next callback runs; a training resumed
    after epoch 2 (its backup's rows restored) writes epochs 1-2 once, then 3-4."""
    curves = tmp_path / "swem.csv"
    pd.DataFrame(columns=CURVE_COLUMNS).to_csv(curves, index=False)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = np.ones((8, 3)), np.eye(2)[[0, 1] * 4]
    restored = [
        {"epoch": e, "split": s, "accuracy": 0.5, "loss": 0.7}
        for e in (1, 2)
        for s in ("train", "test")
    ]
    rows = list(restored)
    seen: list[int] = []
    summaries: list[dict] = []
    summary = curves.with_name("live.json")

    def probe_files(epoch, logs):
        seen.append(len(pd.read_csv(curves)))
        summaries.append(json.loads(summary.read_text()))

    probe = keras.callbacks.LambdaCallback(on_epoch_end=probe_files)
    log = EpochLog(None, epochs=4, held_out="test", rows=rows)
    callbacks = [log, LiveCurves(LiveFiles(curves, summary), 3, rows), probe]
    model.fit(
        x, y, validation_data=(x, y), initial_epoch=2, epochs=4, callbacks=callbacks, verbose=0
    )
    assert seen == [6, 8]  # after epoch 3: 2 restored epochs + 1, two rows each; after epoch 4
    # The live summary follows: the epoch reached and the last held-out accuracy.
    assert [s["epoch"] for s in summaries] == [3, 4]
    assert summaries[-1]["accuracy"] == round(float(rows[-1]["accuracy"]), 4)
    written = pd.read_csv(curves)
    assert list(written.columns) == list(CURVE_COLUMNS) and set(written["seed"]) == {3}
    assert list(zip(written["epoch"], written["split"], strict=True)) == [
        (e, s) for e in (1, 2, 3, 4) for s in ("train", "test")
    ]


def test_inside_a_dvc_experiment_each_step_signals_dvcs_vs_code_extension(tmp_path, monkeypatch):
    """As DVCLive does for a queued run: the step written to DVCLIVE_STEP_COMPLETED in the
    repository the experiment came from ($DVC_ROOT), with the writing process's pid; outside an
    experiment, no signal."""
    import os

    from reuters_rnn.fit.live import write_summary

    curves = tmp_path / "curves.csv"
    pd.DataFrame(
        [
            {"seed": s, "epoch": e, "split": split, "accuracy": 0.5 + 0.1 * e, "loss": 1.0}
            for s in (1, 2)
            for e in (1, 2, 3)[: 2 + s % 2]  # seed 1 at epoch 3, seed 2 at epoch 2
            for split in ("train", "test")
        ]
    ).to_csv(curves, index=False)
    files = LiveFiles(curves, tmp_path / "live" / "lstm.json")
    root = tmp_path / "repo"
    signal = root / ".dvc/tmp/exps/run/DVCLIVE_STEP_COMPLETED"
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    write_summary(files)
    assert json.loads(files.summary.read_text()) == {
        "epoch": 2,
        "accuracy": round((0.8 + 0.7) / 2, 4),
    }
    assert not signal.exists()
    monkeypatch.setenv("DVC_ROOT", str(root))
    monkeypatch.setenv("DVC_EXP_NAME", "brave-fox")
    write_summary(files)
    assert json.loads(signal.read_text()) == {"pid": os.getpid(), "step": 2}
