"""How a stage ends when it cannot finish: one line saying what happened, what was kept and what
to do, instead of a traceback (Ctrl-C, SIGTERM, a full disk, any FixableError the library raised:
a bad param, a damaged file, a training that failed).

Every stage module runs its `main` through `run_stage`. Outputs are written under temporary names
(reuters_rnn.atomic), so an interrupted stage leaves none half-written; the exit status is non-zero,
so DVC records nothing.
"""

from __future__ import annotations

import errno
import shutil
import signal
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


def run_stage(main: Callable[[], None], label: str, kept: Callable[[], str] | None = None) -> None:
    """Run a stage's main; end an interruption or a full disk with one line and exit non-zero.

    `kept` says what an interrupted stage keeps for the next run (train: its last backups).
    """
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        main()
    except KeyboardInterrupt as exc:
        how = "SIGTERM" if isinstance(exc, Interrupted) else "Ctrl-C"
        what = kept() if kept else "nothing half-written was left"
        print(
            f"{label}: interrupted ({how}); {what}. `dvc repro` runs it again.",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(130)
    except FixableError as exc:
        sys.exit(str(exc))
    except DiskFull as exc:
        sys.exit(disk_full_line(label, exc.path, exc.needed))
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        sys.exit(disk_full_line(label, exc.filename or "its outputs", None))
