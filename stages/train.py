"""train: data/prepared/ + one model spec -> per seed a .keras model and its held-out predictions,
plus learning curves and per-seed facts (timings, sha256 of each file).

The seeds train side by side in joblib (loky) worker processes, one thread each. Resumable: with
train.resume, a killed run continues from its last backup (every train.checkpoint_every epochs)
when spec, params, data, code and seed match; seeds whose recorded fingerprint and model file
still match are kept without retraining (the outputs persist).
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import hashlib
import json
import math
import multiprocessing
import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from joblib import Parallel, delayed

from stages.atomic import atomic_path, write_json
from stages.backend import cpu_description, import_keras, use_backend
from stages.dataset import NUM_CLASSES, held_out_name, holdout, load_prepared, sha256_of
from stages.failure import DiskFull, run_stage
from stages.guard import InputsGuard, code_hashes
from stages.params import Params, load_params


def run_fingerprint(params: Params, model: str, seed: int, data_dir: str | Path) -> str:
    """Everything that decides a training's result: a backup is resumed only if this matches."""
    manifest = (Path(data_dir) / "manifest.json").read_text()
    ignored = ("seeds", "resume", "checkpoint_every")
    identity = {
        "model": model,
        "spec": params.models[model].model_dump(),
        "train": {k: v for k, v in params.train.model_dump().items() if k not in ignored},
        "seed": seed,
        "data": hashlib.sha256(manifest.encode()).hexdigest(),
        "code": code_hashes(),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


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


class RunBusy(RuntimeError):
    """Another live process is training the same (model, seed)."""


def lock_backup(backup: Path, label: str):
    """An exclusive lock on the run's backup folder, held until the returned file is closed
    (the OS releases it when the process dies)."""
    backup.parent.mkdir(parents=True, exist_ok=True)
    handle = open(backup.parent / f"{backup.name}.lock", "a+")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        raise RunBusy(
            f"{label}: another process (pid {owner}) is training this run and holds {backup}; "
            "wait for it to finish, or stop it, then run `dvc repro` again"
        ) from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def clear_stale_backup(backup: Path, fingerprint: str, resume: bool) -> None:
    """Keep the backup only if it belongs to this very training (and resuming is on)."""
    stamp = backup / "fingerprint"
    if not (resume and stamp.exists() and stamp.read_text() == fingerprint):
        shutil.rmtree(backup, ignore_errors=True)
        backup.mkdir(parents=True)
        stamp.write_text(fingerprint)


def fit(params: Params, model_name: str, seed: int, arrays: dict, backup: Path):
    """Build (or restore from the backup) and fit one (model, seed); the model, its epoch log and
    the epochs a backup saved."""
    keras = import_keras()

    from stages.models import build_model, compile_model, model_inputs
    from stages.progress import Backup, EpochLog, StopOnNonFinite, restore

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
        # (README: Speed).
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
    import_keras()  # quietly, before stages.models imports it
    from stages.models import model_inputs

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


def reusable_runs(
    params: Params, model_name: str, data: str, models_dir: Path, summary: Path, curves: Path
) -> dict[int, dict]:
    """Seeds already trained by this exact configuration (outputs kept by `persist: true`):
    their facts and curves, when the fingerprint and both files still match what was recorded."""
    if not summary.exists() or not curves.exists():
        return {}
    rows = pd.read_csv(curves)
    kept = {}
    for run in json.loads(summary.read_text()).get("seeds", []):
        files = {
            models_dir / f"seed-{run['seed']}.keras": run["model_sha256"],
            models_dir / f"seed-{run['seed']}.probabilities.npy": run.get("probabilities_sha256"),
        }
        if (
            run["seed"] in params.train.seeds
            and run.get("fingerprint") == run_fingerprint(params, model_name, run["seed"], data)
            and all(path.exists() and sha256_of(path) == sha for path, sha in files.items())
        ):
            kept[run["seed"]] = {
                **run,
                "curves": rows[rows["seed"] == run["seed"]].to_dict("records"),
            }
    return kept


def train_all(
    params: Params, model_name: str, data: str, backups: str, out_dir: Path, kept: dict[int, dict]
) -> list[dict]:
    """Every seed not in `kept`, side by side in $TRAIN_JOBS single-threaded worker processes
    (default: all seeds at once, up to two per core: three seeds on two cores finish sooner
    than two, then one)."""
    seeds = [seed for seed in params.train.seeds if seed not in kept]
    jobs = int(os.environ.get("TRAIN_JOBS") or 2 * (os.cpu_count() or 1))
    use_backend(params.train.backend, threads=1)  # the workers inherit this environment
    trained = Parallel(n_jobs=max(1, min(jobs, len(seeds))), backend="loky")(
        delayed(train_seed)(
            params, model_name, seed, data, backups, out_dir, psutil.Process().create_time()
        )
        for seed in seeds
    )
    runs = {run["seed"]: run for run in trained} | kept
    return [runs[seed] for seed in params.train.seeds]


def backups_kept(backups: Path, model: str, seeds: tuple[int, ...]) -> str:
    """What an interrupted training keeps: each seed's last backup, which `dvc repro` resumes."""
    done = []
    for seed in seeds:
        state = backups / f"{model}-{seed}" / "state" / "epoch.json"
        if state.exists():
            done.append(f"seed {seed} after epoch {json.loads(state.read_text())['epoch']}")
    if not done:
        return "no backup yet (one is written every train.checkpoint_every epochs)"
    return f"kept the last backups in {backups}/ ({', '.join(done)})"


def train_model(args: argparse.Namespace, params: Params) -> None:
    """Train the seeds not kept; write the sound ones; fail naming every seed that diverged."""
    guard = InputsGuard(f"train {args.model}")
    models_dir, summary_path = Path(args.models_out), Path(args.summary_out)
    kept = reusable_runs(
        params, args.model, args.data, models_dir, summary_path, Path(args.curves_out)
    )
    if kept:
        print(f"train {args.model}: seeds {sorted(kept)} unchanged since their last training; kept")
    try:
        with atomic_path(models_dir, directory=True) as out_dir:
            for seed in kept:
                for suffix in ("keras", "probabilities.npy"):
                    shutil.copy2(models_dir / f"seed-{seed}.{suffix}", out_dir)
            results = train_all(params, args.model, args.data, args.backups, out_dir, kept)
            failed = [run["failed"] for run in results if "failed" in run]
            runs = [run for run in results if "failed" not in run]
            # The sound seeds are written even when another failed (DVC records nothing then):
            # the next `dvc repro` keeps them, as it keeps any seed whose inputs are unchanged.
            curves = [row for run in runs for row in run.pop("curves")]
            with atomic_path(args.curves_out) as tmp:
                pd.DataFrame(curves).to_csv(tmp, index=False)
            summary = {
                "model": args.model,
                "backend": params.train.backend,
                "cpu": cpu_description(),
                "seeds": runs,
            }
            write_json(args.summary_out, summary)
    except RunBusy as exc:
        raise SystemExit(str(exc)) from None
    if failed:
        raise SystemExit("\n".join(failed))
    guard.check(args.models_out, args.curves_out, args.summary_out)
    print(f"train {args.model}: saved {len(runs)} seed(s) to {args.models_out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="a model name under `models:` in params.yaml")
    parser.add_argument("data", help="prepared data directory, e.g. data/prepared")
    parser.add_argument("models_out", help="directory for seed-<n>.keras, e.g. models/lstm")
    parser.add_argument("curves_out", help="CSV of per-epoch accuracy and loss, every seed")
    parser.add_argument("summary_out", help="JSON of per-seed facts: timings, model sha256")
    parser.add_argument("--backups", default=".train-backups", help="resumable-state directory")
    args = parser.parse_args()
    params = load_params()
    if args.model not in params.models:
        raise SystemExit(
            f"train: unknown model {args.model!r}; params.yaml has {list(params.models)}"
        )
    run_stage(
        lambda: train_model(args, params),
        f"train {args.model}",
        kept=lambda: backups_kept(Path(args.backups), args.model, params.train.seeds),
    )


if __name__ == "__main__":
    main()
