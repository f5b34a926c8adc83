"""The prepared-data contract that train, evaluate and baseline share: arrays, classes, checks.

`prepare` writes the arrays with a manifest of their sha256; `load_prepared` refuses a directory
whose files do not match it, so a damaged cache object is never scored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from reuters_rnn.plumbing.failure import InputError

NUM_CLASSES = 46
ARRAYS = ("x_train", "x_test", "y_train", "y_test", "labels_train", "labels_test")
MANIFEST = "manifest.json"


class DataError(InputError):
    """The raw or prepared data is not what the pipeline expects."""


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_prepared(directory: Path, arrays: dict[str, np.ndarray]) -> None:
    """Save each array as <name>.npy plus a manifest of their sha256."""
    for name in ARRAYS:
        np.save(directory / f"{name}.npy", arrays[name])
    manifest = {f"{name}.npy": sha256_of(directory / f"{name}.npy") for name in ARRAYS}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def load_prepared(directory: str | Path, names: tuple[str, ...] = ARRAYS) -> dict[str, np.ndarray]:
    """The arrays prepare wrote (or only `names` of them, the others never opened), each checked
    against the manifest before it is loaded."""
    directory = Path(directory)
    fix = "rebuild it with `dvc repro -f prepare` (or restore it from the DVC cache: `dvc checkout --force data/prepared`)"
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{directory}/{MANIFEST}: missing or unreadable ({exc}); {fix}.") from None
    arrays = {}
    for name in names:
        path = directory / f"{name}.npy"
        if not path.exists():
            raise DataError(f"{path}: missing; {fix}.")
        found = sha256_of(path)
        if found != manifest.get(path.name):
            raise DataError(
                f"{path}: sha256 {found} does not match the {manifest.get(path.name)} that "
                f"prepare recorded in {MANIFEST}: the file was changed or damaged; {fix}."
            )
        arrays[name] = np.load(path, allow_pickle=False)
    return arrays


def holdout(arrays: dict[str, np.ndarray], fraction: float) -> dict[str, np.ndarray]:
    """Model selection split: with fraction > 0 the last `fraction` of the training split becomes
    the held-out set (replacing the test split, which a selection never sees); with 0, the arrays
    as published (train on the whole training split, hold out the test split)."""
    if fraction == 0:
        return arrays
    cut = int(round(len(arrays["labels_train"]) * (1 - fraction)))
    if cut < 1 or cut >= len(arrays["labels_train"]):
        raise DataError(
            f"train.validation_split={fraction} leaves an empty training or validation set"
        )
    selected = {}
    for kind in ("x", "y", "labels"):
        selected[f"{kind}_train"] = arrays[f"{kind}_train"][:cut]
        selected[f"{kind}_test"] = arrays[f"{kind}_train"][cut:]
    return selected


def held_out_name(fraction: float) -> str:
    return "validation" if fraction else "test"
