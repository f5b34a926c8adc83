"""One (model, seed) of a training: build or resume the model, fit it with the pipeline's
callbacks, judge whether it diverged, and save the model with its held-out predictions.

`train_seed` is what each worker process of the train stage runs: the model's own fit_predict
(reuters_rnn.fit.model_entry) with the train stage's backup, live curves and progress line. The resumable
state it uses (fingerprint, lock, backup) is in reuters_rnn.fit.run_state.
"""

from __future__ import annotations

import errno
import math
import multiprocessing
import shutil
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reuters_rnn.data.dataset import NUM_CLASSES, holdout, load_prepared, sha256_of
from reuters_rnn.fit.run_state import clear_stale_backup, lock_backup, run_fingerprint
from reuters_rnn.plumbing.backend import (
    cpu_description,
    end_process_at_exit,
    import_keras,
    use_backend,
)
from reuters_rnn.plumbing.failure import DiskFull
from reuters_rnn.schema.params import Params

if TYPE_CHECKING:
    from reuters_rnn.fit.live import LiveFiles


def training_failure(rows: list[dict], label: str, learning_rate_key: str, rate: float) -> str:
    """The one line that fails a training, or "" for a sound one.

    Failed: the last epoch's train loss (the cross-entropy of the true topics) is not finite, or
    lies above ln(46) ≈ 3.83, the loss of guessing every topic equally: after training, that is
    worse than knowing nothing. (Comparing with the first epoch's loss instead would pass a run
    that diverged in its first epoch, as a learning rate of 1000 does.)
    """
    train = [row for row in rows if row["split"] == "train"]
    if not train:
        return ""
    last, chance = train[-1], math.log(NUM_CLASSES)
    if math.isfinite(last["loss"]) and last["loss"] <= chance:
        return ""
    why = (
        "not a number"
        if not math.isfinite(last["loss"])
        else f"above ln {NUM_CLASSES} = {chance:.2f}, the loss of guessing every topic equally"
    )
    return (
        f"{label}: diverged at epoch {last['epoch']}: train loss {last['loss']:.6g}, {why}. "
        f"Nothing was saved; lower {learning_rate_key} (now {rate:g}) and run `dvc repro`."
    )


def learning_rate_key(params: Params, model: str) -> str:
    """The params key that sets this model's learning rate."""
    if params.models[model].learning_rate is not None:
        return f"models.{model}.learning_rate"
    return f"train.learning_rate (or models.{model}.learning_rate)"


def save_outputs(model, probabilities: np.ndarray, out_dir: Path, seed: int) -> None:
    """seed-<n>.keras and seed-<n>.probabilities.npy; a full disk raises DiskFull with what the
    pair needs (the model holds 3 floats per weight: the weights and Adam's two moments)."""
    try:
        model.save(out_dir / f"seed-{seed}.keras")
        np.save(out_dir / f"seed-{seed}.probabilities.npy", probabilities)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        needed = 12 * model.count_params() + probabilities.nbytes
        raise DiskFull(str(exc.filename or out_dir / f"seed-{seed}.keras"), needed) from None


def train_seed(
    params: Params,
    model_name: str,
    seed: int,
    data_dir: str,
    backups: str,
    out_dir: Path,
    t0: float,
    live: LiveFiles | None = None,
) -> dict:
    """One worker's job: train one seed, save `seed-<n>.keras` into out_dir, return its facts;
    with `live`, its curve rows appended there epoch by epoch (progress.LiveFiles)."""
    use_backend(params.train.backend, threads=1)
    if multiprocessing.current_process().name != "MainProcess":  # a worker (not n_jobs=1)
        # Ctrl-C reaches the whole process group: the stage's process stops the workers and
        # says so, in one line.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        end_process_at_exit()  # the stage's process waits for its workers to end
    label = f"train {model_name} seed {seed}"
    backup = Path(backups) / f"{model_name}-{seed}"
    import_keras()  # quietly, before reuters_rnn.fit.model_entry loads it
    from reuters_rnn.fit.entry import Split
    from reuters_rnn.fit.model_entry import Model

    with lock_backup(backup, label):
        fingerprint = run_fingerprint(params, model_name, seed, data_dir)
        clear_stale_backup(backup, fingerprint, params.train.resume)
        arrays = holdout(load_prepared(data_dir), params.train.validation_split)
        split = Split(
            arrays["x_train"], arrays["labels_train"], arrays["x_test"], arrays["labels_test"]
        )
        fit = Model(params, model_name).fit_predict(
            split,
            seed,
            watch=True,
            backup=backup,
            live=live,
            label=label,
        )
        failure = training_failure(
            fit.rows,
            label,
            learning_rate_key(params, model_name),
            params.learning_rate(model_name),
        )
        if failure:
            shutil.rmtree(backup, ignore_errors=True)  # a diverged state is nothing to resume
            return {"seed": seed, "failed": failure}
        # Evaluation where the model already is: evaluate scores these without loading Keras.
        save_outputs(fit.net, fit.probabilities, out_dir, seed)
        shutil.rmtree(backup, ignore_errors=True)
    return {
        "seed": seed,
        "fingerprint": fingerprint,
        "backend": params.train.backend,
        "cpu": cpu_description(),  # where the weights were made: the LSTMs round by the CPU
        "model_sha256": sha256_of(out_dir / f"seed-{seed}.keras"),
        "probabilities_sha256": sha256_of(out_dir / f"seed-{seed}.probabilities.npy"),
        "weights": fit.weights,
        "epochs": params.epochs(model_name),
        "epochs_run": len(fit.rows) // 2,
        **({"best_epoch": fit.best_epoch} if fit.best_epoch is not None else {}),
        "epochs_resumed": fit.resumed_after,
        "train_seconds": round(fit.seconds, 2),
        "ms_per_epoch": fit.ms_per_epoch,  # after the first epoch, which compiles the step
        "seconds_to_first_epoch_end": round(fit.first_epoch_ended - t0, 2),
        "curves": [{"seed": seed, **row} for row in fit.rows],
    }
