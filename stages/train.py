"""train: data/prepared/ + one model spec -> per seed a .keras model and its held-out predictions,
plus learning curves (written as each epoch ends, so DVC's plot views show a run live) and
per-seed facts (timings, sha256 of each file).

The seeds train side by side in joblib (loky) worker processes, one thread each
(reuters_rnn.training). Resumable: with train.resume, a killed run continues from its last backup
(every train.checkpoint_every epochs) when spec, params, data, code and seed match; seeds whose
recorded fingerprint and model file still match are kept without retraining (the outputs persist;
reuters_rnn.run_state).
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

import pandas as pd
import psutil
from joblib import Parallel, delayed

from reuters_rnn.atomic import atomic_path, write_json
from reuters_rnn.backend import cpu_description, use_backend
from reuters_rnn.failure import FixableError, run_stage
from reuters_rnn.guard import InputsGuard
from reuters_rnn.params import Params, load_params
from reuters_rnn.run_state import CURVE_COLUMNS as COLUMNS
from reuters_rnn.run_state import backups_kept, reusable_runs
from reuters_rnn.training import train_seed


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
            args.curves_out,
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
    """Train the seeds not kept; write the sound ones; fail naming every seed that diverged."""
    guard = InputsGuard(f"train {args.model}")
    models_dir, summary_path = Path(args.models_out), Path(args.summary_out)
    kept = reusable_runs(
        params, args.model, args.data, models_dir, summary_path, Path(args.curves_out)
    )
    if kept:
        print(f"train {args.model}: seeds {sorted(kept)} unchanged since their last training; kept")
    with atomic_path(models_dir, directory=True) as out_dir:
        for seed in kept:
            for suffix in ("keras", "probabilities.npy"):
                shutil.copy2(models_dir / f"seed-{seed}.{suffix}", out_dir)
        before = Path(args.curves_out)
        committed = before.read_bytes() if before.is_file() else None
        try:
            results = train_all(params, args.model, args.data, args, out_dir, kept)
        except BaseException:  # interrupted: the tracked curves go back to what they were
            put_back(before, committed)
            raise
        failed = [run["failed"] for run in results if "failed" in run]
        runs = [run for run in results if "failed" not in run]
        # The sound seeds are written even when another failed (DVC records nothing then):
        # the next `dvc repro` keeps them, as it keeps any seed whose inputs are unchanged.
        # The finished file: every sound seed's rows in seed order (the live one is in the
        # order epochs ended, and keeps a failed seed's rows until now).
        curves = [row for run in runs for row in run.pop("curves")]
        with atomic_path(args.curves_out) as tmp:
            pd.DataFrame(curves, columns=COLUMNS).to_csv(tmp, index=False)
        summary = {
            "model": args.model,
            "backend": params.train.backend,
            "cpu": cpu_description(),
            "seeds": runs,
        }
        write_json(args.summary_out, summary)
    if failed:
        records = f"{args.curves_out} {args.summary_out}"
        raise FixableError(
            "\n".join(failed)
            + f"\n{records} now hold the sound seeds' records (the next run keeps those seeds); "
            f"the committed ones come back with `git checkout HEAD -- {records}`"
        )
    guard.check(
        args.models_out,
        args.curves_out,
        args.summary_out,
        kept=f" (its trained seeds are kept in {args.models_out}: a run with the params they were "
        "trained with reuses them)",
    )
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
