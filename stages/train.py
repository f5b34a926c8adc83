"""train: data/prepared/ + one model spec -> models/<model>/: per seed a .keras model and its
held-out predictions, with the learning curves and per-seed facts (timings, sha256 of each file);
the curves are also written to DVC's plot file as each epoch ends, so its plot views show a run
live (evaluate publishes the finished ones).

The seeds train side by side in joblib (loky) worker processes, one thread each
(reuters_rnn.fit.training). Resumable: with train.resume, a killed run continues from its last backup
(every train.checkpoint_every epochs) when spec, params, data, code and seed match. Every trained
seed is kept in a store under its fingerprint (.train-store/, outside the stage's outputs, so DVC's
run-cache restores whole runs): a seed trained before with the same inputs is taken from there
without training (reuters_rnn.fit.run_state).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd
import psutil
from joblib import Parallel, delayed

from reuters_rnn.data.trained import CURVES, RECORD
from reuters_rnn.fit.live import LiveFiles, write_summary
from reuters_rnn.fit.run_state import CURVE_COLUMNS as COLUMNS
from reuters_rnn.fit.run_state import backups_kept, store_run, stored_runs, take_stored
from reuters_rnn.fit.training import train_seed
from reuters_rnn.plumbing.atomic import atomic_path, write_json
from reuters_rnn.plumbing.backend import use_backend
from reuters_rnn.plumbing.failure import FixableError, run_stage
from reuters_rnn.plumbing.guard import InputsGuard
from reuters_rnn.schema.params import Params, load_params


def train_all(
    params: Params, model_name: str, data: str, args: argparse.Namespace, out_dir: Path, kept: dict
) -> list[dict]:
    """Every seed not in `kept`, side by side in $TRAIN_JOBS single-threaded worker processes
    (default: all seeds at once, up to two per core: three seeds on two cores finish sooner
    than two, then one). The curves file holds the kept seeds' rows, then each training's rows
    as its epochs end: DVC's plot views show the run live."""
    seeds = [seed for seed in params.train.seeds if seed not in kept]
    live = pd.DataFrame([row for run in kept.values() for row in run["curves"]], columns=COLUMNS)
    with atomic_path(args.curves_out) as tmp:
        live.to_csv(tmp, index=False)
    files = LiveFiles(Path(args.curves_out), Path(args.live) if args.live else None)
    write_summary(files)
    jobs = int(os.environ.get("TRAIN_JOBS") or 2 * (os.cpu_count() or 1))
    use_backend(params.train.backend, threads=1)  # the workers inherit this environment
    trained = Parallel(n_jobs=max(1, min(jobs, len(seeds))), backend="loky")(
        delayed(train_seed)(
            params,
            model_name,
            seed,
            data,
            args.backups,
            out_dir,
            psutil.Process().create_time(),
            files,
        )
        for seed in seeds
    )
    runs = {run["seed"]: run for run in trained} | kept
    return [runs[seed] for seed in params.train.seeds]


def put_back(path: Path, content: bytes | None) -> None:
    """The file as it was (`content`), or gone if it was not there."""
    if content is None:
        path.unlink(missing_ok=True)
        return
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(content)


def train_model(args: argparse.Namespace, params: Params) -> None:
    """Train the seeds the store does not hold; store the sound ones; write the outputs only
    when every seed is sound, else fail naming every seed that diverged."""
    guard = InputsGuard(f"train {args.model}")
    store = Path(args.store)
    kept = stored_runs(params, args.model, args.data, store)
    if kept:
        print(f"train {args.model}: seeds {sorted(kept)} trained before with these inputs; kept")
    with atomic_path(args.models_out, directory=True) as out_dir:
        for run in kept.values():
            take_stored(store, run, out_dir)
        tracked = [Path(args.curves_out), *([Path(args.live)] if args.live else [])]
        before = {path: path.read_bytes() if path.is_file() else None for path in tracked}
        try:
            results = train_all(params, args.model, args.data, args, out_dir, kept)
        except BaseException:  # interrupted: the tracked live files go back to what they were
            for path, content in before.items():
                put_back(path, content)
            raise
        failed = [run["failed"] for run in results if "failed" in run]
        runs = [run for run in results if "failed" not in run]
        for run in runs:
            store_run(store, run, out_dir)
        if failed:
            for path, content in before.items():
                put_back(path, content)
            raise FixableError(
                "\n".join(failed) + f"\nThe sound seeds are kept in {store}/: the next run "
                "reuses them."
            )
        # The finished curves: every seed's rows in seed order (the live file has them in the
        # order epochs ended), beside the seeds with their record; evaluate publishes both.
        curves = [row for run in runs for row in run.pop("curves")]
        pd.DataFrame(curves, columns=COLUMNS).to_csv(out_dir / CURVES, index=False)
        write_json(out_dir / RECORD, {"seeds": runs})
        if args.live:  # the finished training's step: the same bytes on every run
            write_summary(LiveFiles(out_dir / CURVES, Path(args.live)))
    guard.check(
        args.models_out,
        kept=f" (its trained seeds are kept in {store}/: a run with the inputs they were trained "
        "with reuses them)",
    )
    print(f"train {args.model}: saved {len(runs)} seed(s) to {args.models_out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="a model name under `models:` in params.yaml")
    parser.add_argument("data", help="prepared data directory, e.g. data/prepared")
    parser.add_argument("models_out", help="directory for seed-<n>.keras, e.g. models/lstm")
    parser.add_argument(
        "curves_out", help="the live learning curves, appended as epochs end (DVC's plot file)"
    )
    parser.add_argument(
        "--live", help="DVC metrics file of the running training's epoch and held-out accuracy"
    )
    parser.add_argument("--backups", default=".train-backups", help="resumable-state directory")
    parser.add_argument(
        "--store", default=".train-store", help="every trained seed, under its fingerprint"
    )
    args = parser.parse_args()

    def train() -> None:
        params = load_params()
        if args.model not in params.models:
            raise FixableError(
                f"train: unknown model {args.model!r}; params.yaml has {list(params.models)}"
            )
        train_model(args, params)

    run_stage(
        train,
        f"train {args.model}",
        kept=lambda: backups_kept(Path(args.backups), args.model, load_params().train.seeds),
    )


if __name__ == "__main__":
    main()
