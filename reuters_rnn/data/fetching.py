"""The Reuters npz that keras.datasets.reuters downloads, through keras.utils.get_file with the
sha256 from params.yaml: a file already in the Keras cache ($KERAS_HOME/datasets/, default
~/.keras/datasets/) is used offline when its hash matches. The fetch stage's work.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from reuters_rnn.data.dataset import sha256_of
from reuters_rnn.plumbing.atomic import atomic_path
from reuters_rnn.plumbing.backend import import_keras
from reuters_rnn.plumbing.failure import InputError
from reuters_rnn.schema.sections import DataParams


class FetchError(InputError):
    """The data file could not be obtained or failed its checksum."""


def keras_cache_dir() -> Path:
    """Keras's cache: $KERAS_HOME, else ~/.keras (read now; Keras reads it once, at import)."""
    return Path(os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras"))


def _how_to_provide(cache: Path, data: DataParams) -> str:
    return f"To run offline, copy the genuine file to {cache} or let this machine reach {data.url}."


def fetch(data: DataParams, out: str | Path) -> Path:
    """Get the file via Keras's cache/download, verify its sha256, copy it to `out` atomically."""
    get_file = import_keras().utils.get_file  # after main() picks a light backend

    fname = data.url.rstrip("/").rsplit("/", 1)[-1]
    cache = keras_cache_dir() / "datasets" / fname
    # Keras deletes a cached file that fails its hash before re-downloading, so look first.
    found = sha256_of(cache) if cache.exists() else None
    try:
        path = get_file(
            fname=fname, origin=data.url, file_hash=data.sha256, cache_dir=str(keras_cache_dir())
        )
    except Exception as exc:
        state = f"the cached {cache} has sha256 {found}" if found else f"{cache} does not exist"
        raise FetchError(
            f"Could not get {fname} with sha256 {data.sha256}: {state}, and the download "
            f"from {data.url} failed ({exc}). {_how_to_provide(cache, data)}"
        ) from exc
    actual = sha256_of(path)
    if actual != data.sha256:
        raise FetchError(
            f"{path} has sha256 {actual}, expected {data.sha256} (data.sha256 in params.yaml). "
            f"{_how_to_provide(cache, data)}"
        )
    with atomic_path(out) as tmp:
        shutil.copyfile(path, tmp)
    return Path(out)
