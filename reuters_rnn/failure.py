"""How a stage ends when it cannot finish: one line saying what happened, what was kept and what
to do, instead of a traceback (Ctrl-C, SIGTERM, a full disk, any FixableError the library raised:
a bad param, a damaged file, a training that failed).

Every stage module runs its `main` through `run_stage`. Outputs are written under temporary names
(reuters_rnn.atomic), so an interrupted stage leaves none half-written; the exit status is non-zero,
so DVC records nothing.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


class FixableError(Exception):
    """A problem the user fixes (a bad param, a damaged file, a busy run, a diverged training):
    its message is the whole of what they read, what happened and what to do. The library raises
    these and never exits; the entry points (run_stage here, the search command's main) turn one
    into that line and a non-zero exit status."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM, raised where the stage is, like Ctrl-C's KeyboardInterrupt."""


class DiskFull(Exception):
    """No space left while writing `path`; `needed` bytes is an estimate of what the write needs
    (picklable: the training workers raise it in their own processes)."""

    def __init__(self, path: str, needed: int | None = None) -> None:
        super().__init__(path, needed)
        self.path, self.needed = path, needed


def _raise_interrupted(signum, frame) -> None:
    raise Interrupted()


def megabytes(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


def disk_full_line(label: str, path: str, needed: int | None) -> str:
    """The one line for a full disk: which file, the free space there, and what to free."""
    where = Path(path).resolve()
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free
    need = f"at least {megabytes(needed)}" if needed else "space"
    return (
        f"{label}: disk full while writing {path} ({megabytes(free)} free there). Nothing was "
        f"recorded; free {need} (DVC then copies the outputs into .dvc/cache, as much again) "
        "and run `dvc repro` again."
    )


def removed_outputs_line() -> str:
    """Under `dvc repro`, DVC removes a stage's outputs before it runs, so a failed stage leaves
    its git-tracked ones (`cache: false`) deleted: the line that brings the committed ones back,
    or "" when none is missing (or outside DVC)."""
    stage = os.environ.get("DVC_STAGE")
    if not stage:
        return ""
    try:
        from dvc.repo import Repo

        with Repo() as repo:
            (found,) = repo.stage.collect(stage)
        gone = [
            out.def_path
            for out in found.outs
            if not out.use_cache and not Path(found.wdir, out.def_path).exists()
        ]
        listed = subprocess.run(
            ["git", "ls-files", "--", *gone], cwd=found.wdir, capture_output=True, text=True
        )
        tracked = listed.stdout.split() if gone else []
    except Exception:  # noqa: BLE001 - a hint only: never hide the failure itself
        return ""
    if not tracked:
        return ""
    return (
        "\nDVC removed this stage's git-tracked outputs before it ran; the committed ones come "
        f"back with `git checkout HEAD -- {' '.join(tracked)}`"
    )


def run_stage(main: Callable[[], None], label: str, kept: Callable[[], str] | None = None) -> None:
    """Run a stage's main; end an interruption, a full disk or a FixableError with one line (and
    how to restore the tracked outputs DVC removed) and exit non-zero.

    `kept` says what an interrupted stage keeps for the next run (train: its last backups).
    """
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        main()
    except KeyboardInterrupt as exc:
        how = "SIGTERM" if isinstance(exc, Interrupted) else "Ctrl-C"
        what = kept() if kept else "nothing half-written was left"
        print(
            f"{label}: interrupted ({how}); {what}. `dvc repro` runs it again."
            + removed_outputs_line(),
            file=sys.stderr,
            flush=True,
        )
        sys.exit(130)
    except FixableError as exc:
        sys.exit(str(exc) + removed_outputs_line())
    except DiskFull as exc:
        sys.exit(disk_full_line(label, exc.path, exc.needed) + removed_outputs_line())
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        sys.exit(disk_full_line(label, exc.filename or "its outputs", None))
