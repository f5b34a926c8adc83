"""What a training run keeps between processes, and how it guards them: the fingerprint that
decides whether a backup or a saved seed still belongs to this training, the lock that keeps two
processes off one run, and what an interrupted run leaves for `dvc repro` to resume.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd

from reuters_rnn.dataset import sha256_of
from reuters_rnn.failure import FixableError
from reuters_rnn.guard import code_hashes, imported_code
from reuters_rnn.params import Params

# The learning curves' columns (metrics/curves/<model>.csv), one row per seed, epoch and split.
CURVE_COLUMNS = ("seed", "epoch", "split", "accuracy", "loss")


def run_fingerprint(params: Params, model: str, seed: int, data_dir: str | Path) -> str:
    """Everything that decides a training's result: a backup is resumed, and a saved seed kept,
    only if this matches. Its code is what the train stage runs (an edit to the report keeps
    every trained seed)."""
    manifest = (Path(data_dir) / "manifest.json").read_text()
    ignored = ("seeds", "resume", "checkpoint_every")
    identity = {
        "model": model,
        "spec": params.models[model].model_dump(),
        "train": {k: v for k, v in params.train.model_dump().items() if k not in ignored},
        "seed": seed,
        "data": hashlib.sha256(manifest.encode()).hexdigest(),
        "code": code_hashes(imported_code("stages.train")),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


class RunBusy(FixableError):
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


class DamagedRecord(FixableError):
    """A tracked training record (metrics/training/<model>.json, metrics/curves/<model>.csv)
    cannot be read: a cut-short file, a merge conflict, a folder in its place."""


def _seeds(path: Path) -> list[dict]:
    runs = json.loads(path.read_text())["seeds"]
    if not all(isinstance(run, dict) and isinstance(run.get("seed"), int) for run in runs):
        raise ValueError("its seeds are not records with a seed")
    return runs


def _curves(path: Path) -> pd.DataFrame:
    rows = pd.read_csv(path)
    if tuple(rows.columns) != CURVE_COLUMNS:
        raise ValueError(f"its columns are {list(rows.columns)}, not {list(CURVE_COLUMNS)}")
    return rows


def _read_record(path: Path, read):
    """`read(path)`, or DamagedRecord naming the file and the fix."""
    try:
        return read(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # pandas: ValueErrors
        why = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise DamagedRecord(
            f"{path} cannot be read ({why}); it records which trained seeds a run may keep. "
            f"Remove it (`rm -rf {path}`: every seed trains again) or restore the committed one "
            f"(`git checkout HEAD -- {path}`, after removing a folder in its place), then run "
            "`dvc repro` again."
        ) from None


def reusable_runs(
    params: Params, model_name: str, data: str, models_dir: Path, summary: Path, curves: Path
) -> dict[int, dict]:
    """Seeds already trained by this exact configuration (outputs kept by `persist: true`):
    their facts and curves, when the fingerprint and both files still match what was recorded."""
    if not summary.exists() or not curves.exists():
        return {}
    rows, runs = _read_record(curves, _curves), _read_record(summary, _seeds)
    kept = {}
    for run in runs:
        files = {
            models_dir / f"seed-{run['seed']}.keras": run.get("model_sha256"),
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
