"""One (model, seed) of a training: build or resume the model, fit it with the pipeline's
callbacks, judge whether it diverged, and save the model with its held-out predictions.

`train_seed` is what each worker process of the train stage runs; the resumable state it uses
(fingerprint, lock, backup) is in reuters_rnn.run_state.
"""

from __future__ import annotations

import errno
import math
import multiprocessing
import shutil
import signal
import time
from pathlib import Path

import numpy as np

from reuters_rnn.backend import import_keras, use_backend
from reuters_rnn.dataset import NUM_CLASSES, held_out_name, holdout, load_prepared, sha256_of
from reuters_rnn.failure import DiskFull
from reuters_rnn.params import Params
from reuters_rnn.run_state import clear_stale_backup, lock_backup, run_fingerprint


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


def fit(params: Params, model_name: str, seed: int, arrays: dict, backup: Path):
    """Build (or restore from the backup) and fit one (model, seed); the model, its epoch log and
    the epochs a backup saved."""
    keras = import_keras()

    from reuters_rnn.models import build_model, compile_model, model_inputs
    from reuters_rnn.progress import Backup, EpochLog, StopOnNonFinite, restore

    spec, epochs = params.models[model_name], params.epochs(model_name)
    keras.utils.set_random_seed(seed)
    restored = restore(backup)
    if restored:
        model, done, rows = restored
        print(f"train {model_name} seed {seed}: resuming after epoch {done}", flush=True)
    else:
        done, rows = 0, []
        model = build_model(
            model_name, spec, arrays["x_train"].shape[1], NUM_CLASSES, params.data.num_words
        )
        steps = math.ceil(len(arrays["x_train"]) / params.train.batch_size)
        compile_model(
            model,
            params.learning_rate(model_name),
            steps,
            params.train.jit_compile,
            spec.label_smoothing,
        )
    held_out = held_out_name(params.train.validation_split)
    progress = EpochLog(f"train {model_name} seed {seed}", epochs, held_out, rows)
    model.fit(
        model_inputs(spec, arrays["x_train"]),
        arrays["y_train"],
        validation_data=(model_inputs(spec, arrays["x_test"]), arrays["y_test"]),
        # The held-out curves in one batch: the same numbers, 5-10 % less time per epoch
        # (docs/speed.md).
        validation_batch_size=len(arrays["x_test"]),
        initial_epoch=done,
        epochs=epochs,
        batch_size=params.train.batch_size,
        callbacks=[
            StopOnNonFinite(),
            progress,
            Backup(backup, params.train.checkpoint_every, rows),
        ],
        verbose=0,
    )
    return model, progress, done


def train_seed(
    params: Params,
    model_name: str,
    seed: int,
    data_dir: str,
    backups: str,
    out_dir: Path,
    t0: float,
) -> dict:
    """One worker's job: train one seed, save `seed-<n>.keras` into out_dir, return its facts."""
    use_backend(params.train.backend, threads=1)
    if multiprocessing.current_process().name != "MainProcess":  # a worker (not n_jobs=1)
        # Ctrl-C reaches the whole process group: the stage's process stops the workers and
        # says so, in one line.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    label = f"train {model_name} seed {seed}"
    backup = Path(backups) / f"{model_name}-{seed}"
    import_keras()  # quietly, before reuters_rnn.models imports it
    from reuters_rnn.models import model_inputs

    with lock_backup(backup, label):
        fingerprint = run_fingerprint(params, model_name, seed, data_dir)
        clear_stale_backup(backup, fingerprint, params.train.resume)
        arrays = holdout(load_prepared(data_dir), params.train.validation_split)
        start = time.perf_counter()
        model, progress, done = fit(params, model_name, seed, arrays, backup)
        seconds = time.perf_counter() - start
        failure = training_failure(
            progress.rows,
            label,
            learning_rate_key(params, model_name),
            params.learning_rate(model_name),
        )
        if failure:
            shutil.rmtree(backup, ignore_errors=True)  # a diverged state is nothing to resume
            return {"seed": seed, "failed": failure}
        # Evaluation where the model already is: evaluate scores these without loading Keras.
        inputs = model_inputs(params.models[model_name], arrays["x_test"])
        save_outputs(model, model.predict(inputs, verbose=0), out_dir, seed)
        shutil.rmtree(backup, ignore_errors=True)
    return {
        "seed": seed,
        "fingerprint": fingerprint,
        "model_sha256": sha256_of(out_dir / f"seed-{seed}.keras"),
        "probabilities_sha256": sha256_of(out_dir / f"seed-{seed}.probabilities.npy"),
        "weights": int(model.count_params()),
        "epochs": params.epochs(model_name),
        "epochs_resumed": done,
        "train_seconds": round(seconds, 2),
        "ms_per_epoch": progress.ms_per_epoch(),  # after the first epoch, which compiles the step
        "seconds_to_first_epoch_end": round(progress.first_epoch_ended - t0, 2),
        "curves": [{"seed": seed, **row} for row in progress.rows],
    }
