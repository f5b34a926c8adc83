"""What a training run keeps between processes, and how it guards them: the fingerprint that
decides whether a backup or a stored seed belongs to this training, the seed store (every trained
seed under its fingerprint, outside the stage's outputs, so that DVC's run-cache restores whole
stages and the store single seeds), the lock that keeps two processes off one run, and what an
interrupted run leaves for `dvc repro` to resume.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path

from reuters_rnn.data.dataset import sha256_of
from reuters_rnn.plumbing.atomic import atomic_path
from reuters_rnn.plumbing.failure import FixableError
from reuters_rnn.plumbing.guard import code_hashes, imported_code
from reuters_rnn.schema.params import Params

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


# The seed store's bound: past it, the entries used longest ago go (TRAIN_STORE_MB overrides).
STORE_MB = 2000
STORE_FILES = {"model.keras": "model_sha256", "probabilities.npy": "probabilities_sha256"}


def _stored(entry: Path) -> dict | None:
    """The record of a stored seed if its files are the ones it records; None otherwise (a
    damaged or half-removed entry is removed: it is only a copy)."""
    try:
        record = json.loads((entry / "record.json").read_text())
        if all(sha256_of(entry / name) == record[key] for name, key in STORE_FILES.items()):
            return record
    except (OSError, ValueError, KeyError, TypeError):
        pass
    shutil.rmtree(entry, ignore_errors=True)
    return None


def stored_runs(params: Params, model: str, data: str, store: Path) -> dict[int, dict]:
    """The seeds of `train.seeds` that this exact configuration has already trained (any earlier
    run in this workspace, whatever other params it had), by fingerprint in the seed store:
    their records, curves included."""
    kept = {}
    for seed in params.train.seeds:
        entry = store / run_fingerprint(params, model, seed, data)
        record = _stored(entry) if entry.is_dir() else None
        if record is not None:
            os.utime(entry)  # used now: the last to go when the store is over its bound
            kept[seed] = record
    return kept


def take_stored(store: Path, run: dict, out_dir: Path) -> None:
    """A stored seed's files, copied into the training's output folder."""
    entry, seed = store / run["fingerprint"], run["seed"]
    shutil.copy2(entry / "model.keras", out_dir / f"seed-{seed}.keras")
    shutil.copy2(entry / "probabilities.npy", out_dir / f"seed-{seed}.probabilities.npy")


def store_run(store: Path, run: dict, out_dir: Path) -> None:
    """Keep a trained seed (its files and record) under its fingerprint, then hold the store
    to its bound: content-addressed, so an entry is written once and never changes."""
    entry, seed = store / run["fingerprint"], run["seed"]
    if entry.is_dir():
        return
    with atomic_path(entry, directory=True) as tmp:
        shutil.copy2(out_dir / f"seed-{seed}.keras", tmp / "model.keras")
        shutil.copy2(out_dir / f"seed-{seed}.probabilities.npy", tmp / "probabilities.npy")
        (tmp / "record.json").write_text(json.dumps(run) + "\n")
    bound_store(store, int(os.environ.get("TRAIN_STORE_MB") or STORE_MB) * 1_000_000)


def bound_store(store: Path, limit: int) -> list[Path]:
    """Remove the entries used longest ago until the store holds at most `limit` bytes; the
    removed entries (a removed seed trains again when a run asks for it)."""
    entries = [e for e in store.iterdir() if e.is_dir() and not e.name.startswith(".")]
    sizes = {e: sum(f.stat().st_size for f in e.iterdir()) for e in entries}
    removed, total = [], sum(sizes.values())
    for entry in sorted(entries, key=lambda e: e.stat().st_mtime):
        if total <= limit:
            break
        shutil.rmtree(entry, ignore_errors=True)
        total -= sizes[entry]
        removed.append(entry)
    return removed


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
