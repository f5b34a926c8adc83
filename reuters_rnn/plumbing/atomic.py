"""Write outputs under a temporary name and rename them into place only when complete.

A stage that fails or is killed half-way then leaves no partial output for DVC to cache.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(target: str | Path, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of `target` to write; rename it to `target` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A plain name (not mkstemp) so the output gets the usual umask permissions; the suffix is
    # kept so that writers that choose a format by extension (keras .keras, numpy .npy) still do.
    tmp = target.with_name(f".{target.stem}.tmp-{os.getpid()}{target.suffix}")
    if directory:
        shutil.rmtree(tmp, ignore_errors=True)  # left by a killed run that had the same pid
        tmp.mkdir()
    try:
        yield tmp
        if directory and target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def write_json(path: str | Path, value: Any) -> None:
    """Write `value` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2, sort_keys=False) + "\n")
