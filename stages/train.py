"""train: data/prepared/ + one model spec + one seed -> a .keras model and its dvclive logs.

Seeded and resumable: with train.resume, a killed run continues from its last finished epoch
(Keras BackupAndRestore, kept outside the DVC outputs) when spec, params, data and seed match.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from stages.atomic import atomic_path
from stages.params import Params, load_params


def limit_threads(backend: str) -> None:
    """Honour $PIPELINE_THREADS (set by tools/parallel_repro.py) before the backend starts.

    Two trainings side by side on two cores run fastest with one thread each; thread counts
    change no result beyond float rounding, so they are an environment choice, not a param.
    """
    threads = os.environ.get("PIPELINE_THREADS")
    if not threads:
        return
    if backend == "jax":
        os.environ["XLA_FLAGS"] = (
            f"{os.environ.get('XLA_FLAGS', '')} --xla_cpu_multi_thread_eigen=false "
            f"intra_op_parallelism_threads={threads}"
        ).strip()
    else:  # read by the TensorFlow runtime when it starts
        os.environ["TF_NUM_INTRAOP_THREADS"] = threads
        os.environ["TF_NUM_INTEROP_THREADS"] = threads


def run_fingerprint(params: Params, model: str, seed: int, data_dir: str | Path) -> str:
    """Everything that decides a training's result: a backup is resumed only if this matches."""
    digest = hashlib.sha256()
    for path in sorted(Path(data_dir).glob("*.npy")):
        digest.update(path.name.encode() + path.read_bytes())
    identity = {
        "model": model,
        "spec": asdict(params.models[model]),
        "train": {k: v for k, v in asdict(params.train).items() if k not in ("seeds", "resume")},
        "seed": seed,
        "data": digest.hexdigest(),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def resumable_epochs(backup: Path, fingerprint: str) -> int:
    """Epochs already finished by an earlier run of the same training; clears stale backups."""
    stamp = backup / "fingerprint"
    if stamp.exists() and stamp.read_text() == fingerprint:
        metadata = backup / "keras" / "training_metadata.json"  # written by BackupAndRestore
        if metadata.exists():
            return int(json.loads(metadata.read_text())["epoch"])
    shutil.rmtree(backup, ignore_errors=True)
    backup.mkdir(parents=True)
    stamp.write_text(fingerprint)
    return 0


def trim_live_log(live_dir: Path, epochs: int) -> None:
    """Drop logged rows for epochs >= `epochs`: a kill between logging and backup repeats one."""
    for tsv in live_dir.glob("plots/metrics/**/*.tsv"):
        with open(tsv, newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        with open(tsv, "w", newline="") as f:
            writer = csv.DictWriter(
                f, fieldnames=list(rows[0]) if rows else ["step"], delimiter="\t"
            )
            writer.writeheader()
            writer.writerows(r for r in rows if int(r["step"]) < epochs)


def train(params: Params, model_name: str, seed: int, data_dir: str, backup: Path, resume: bool):
    """Fit one (model, seed); returns the model, the dvclive dir and run facts."""
    import keras
    from dvclive import Live

    from stages.models import build_model, compile_model, model_inputs
    from stages.prepare import NUM_CLASSES, load_prepared
    from stages.progress import EpochLog

    spec = params.models[model_name]
    arrays = load_prepared(data_dir)
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()

    fingerprint = run_fingerprint(params, model_name, seed, data_dir)
    if not resume:
        shutil.rmtree(backup, ignore_errors=True)
    done = resumable_epochs(backup, fingerprint)
    live_dir = backup / "live"
    if done:
        print(f"train {model_name} seed {seed}: resuming after epoch {done}/{params.train.epochs}")
        trim_live_log(live_dir, done)
    live = Live(str(live_dir), resume=bool(done), dvcyaml=None, save_dvc_exp=False, report=None)

    model = build_model(
        model_name, spec, arrays["x_train"].shape[1], NUM_CLASSES, params.data.num_words
    )
    steps_per_epoch = math.ceil(len(arrays["x_train"]) / params.train.batch_size)
    compile_model(model, params.train.learning_rate, steps_per_execution=steps_per_epoch)
    progress = EpochLog(live, f"train {model_name} seed {seed}", params.train.epochs)
    restore = keras.callbacks.BackupAndRestore(str(backup / "keras"), double_checkpoint=True)
    start = time.perf_counter()
    model.fit(
        model_inputs(spec, arrays["x_train"]),
        arrays["y_train"],
        epochs=params.train.epochs,
        batch_size=params.train.batch_size,
        callbacks=[progress, restore],
        verbose=0,
    )
    seconds = time.perf_counter() - start
    live.summary.update(
        train_seconds=round(seconds, 2),
        epochs=params.train.epochs,
        epochs_resumed=done,
        backend=keras.backend.backend(),
        ms_per_epoch=round(1000 * seconds / max(1, params.train.epochs - done), 1),
    )
    live.make_summary()
    return model, live_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="a model name under `models:` in params.yaml")
    parser.add_argument("seed", type=int, help="one of train.seeds")
    parser.add_argument("data", help="prepared data directory, e.g. data/prepared")
    parser.add_argument("model_out", help="where to save the trained .keras model")
    parser.add_argument("curves_out", help="directory for the per-epoch dvclive curves (.tsv)")
    parser.add_argument(
        "summary_out", help="the run's dvclive summary JSON (final metrics, seconds)"
    )
    parser.add_argument("--backups", default=".train-backups", help="resumable-state directory")
    args = parser.parse_args()
    params = load_params()
    if args.model not in params.models:
        raise SystemExit(
            f"train: unknown model {args.model!r}; params.yaml has {list(params.models)}"
        )
    # Keras reads the backend once, at import: set it before anything imports keras.
    os.environ["KERAS_BACKEND"] = params.train.backend
    limit_threads(params.train.backend)
    backup = Path(args.backups) / f"{args.model}-{args.seed}"
    model, live_dir = train(params, args.model, args.seed, args.data, backup, params.train.resume)
    with atomic_path(args.model_out) as tmp:
        model.save(tmp)
    # dvclive writes plots/metrics/<metric>.tsv and metrics.json; they go out as two outputs so
    # that the curves directory holds only plottable files for `dvc plots show`.
    with atomic_path(args.curves_out, directory=True) as tmp:
        shutil.copytree(live_dir / "plots" / "metrics", tmp, dirs_exist_ok=True)
    with atomic_path(args.summary_out) as tmp:
        shutil.copyfile(live_dir / "metrics.json", tmp)
    shutil.rmtree(backup, ignore_errors=True)
    print(f"train {args.model} seed {args.seed}: saved {args.model_out}")


if __name__ == "__main__":
    main()
