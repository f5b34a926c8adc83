"""How a stage ends when it cannot finish: one line saying what happened, what was kept and what
to do, instead of a traceback (Ctrl-C, SIGTERM, a full disk, any FixableError the library raised:
a bad param, a damaged file, a training that failed).

Every stage module runs its `main` through `run_stage`. Outputs are written under temporary names
(reuters_rnn.plumbing.atomic), so an interrupted stage leaves none half-written; the exit status is non-zero,
so DVC records nothing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil


class FixableError(Exception):
    """A problem the user fixes (a bad param, a damaged file, a busy run, a diverged training):
    its message is the whole of what they read, what happened and what to do. The library raises
    these and never exits; the entry points (run_stage here, the search command's main) turn one
    into that line and a non-zero exit status."""


class InputError(FixableError):
    """A stage's input is wrong (its data, a model file, the fetched file): run_stage names the
    stage before the message ("prepare failed: ...")."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM, raised where the stage is, like Ctrl-C's KeyboardInterrupt."""


class DiskFull(Exception):
    """No space left while writing `path`; `needed` bytes is an estimate of what the write needs
    (picklable: the training workers raise it in their own processes)."""

    def __init__(self, path: str, needed: int | None = None) -> None:
        super().__init__(path, needed)
        self.path, self.needed = path, needed


STOPPING = threading.Event()  # interrupted once: a second signal waits for the first's line
ORPHANED = threading.Event()  # the process that ran this stage is gone


def _raise_interrupted(signum, frame) -> None:
    """SIGTERM as Interrupted, Ctrl-C as KeyboardInterrupt: the first one only, so that a
    second (Ctrl-C twice, or the ended dvc noticed after a signal to the whole group) cannot
    cut the line that the first one ends with."""
    if STOPPING.is_set():
        return
    STOPPING.set()
    raise Interrupted() if signum == signal.SIGTERM else KeyboardInterrupt()


def _runner() -> psutil.Process | None:
    """The process this stage belongs to: under DVC, the nearest ancestor running `dvc` (its
    command runs under a shell, which outlives a killed `dvc`); otherwise the parent."""
    try:
        ancestors = psutil.Process().parents()
        if os.environ.get("DVC_STAGE"):
            for ancestor in ancestors:
                with contextlib.suppress(psutil.Error):
                    if "dvc" in (Path(part).name for part in ancestor.cmdline()[:3]):
                        return ancestor
        return ancestors[0] if ancestors else None
    except psutil.Error:
        return None


def stop_when_orphaned(every: float = 1.0) -> None:
    """SIGTERM this process once the process that ran it has ended (a `kill` or a scheduler
    stopped `dvc`, which does not pass the signal on): the stage then stops as on SIGTERM, and
    no training writes its outputs after its run has ended."""
    runner = _runner()
    if runner is None:
        return

    def watch() -> None:
        while runner.is_running() and runner.status() != psutil.STATUS_ZOMBIE:
            time.sleep(every)
        if not STOPPING.is_set():
            ORPHANED.set()
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="runner-watch", daemon=True).start()


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


NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def not_writable_line(label: str, exc: OSError) -> str:
    """The one line for a file or folder the stage may not read or write (permissions, a
    read-only mount): which one, and what to change."""
    path = Path(exc.filename or ".")
    folder = path if path.is_dir() else path.parent
    return (
        f"{label}: cannot write {folder}/ ({exc.strerror}: {path}). Nothing was recorded; make "
        f"it writable for this user (`chmod -R u+w {folder}`, or mount it read-write) and run "
        "`dvc repro` again."
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
        missing = [out for out in found.outs if not Path(found.wdir, out.def_path).exists()]
        gone = [out.def_path for out in missing if not out.use_cache]
        listed = subprocess.run(
            ["git", "ls-files", "--", *gone], cwd=found.wdir, capture_output=True, text=True
        )
        tracked = listed.stdout.split() if gone else []
        cached = any(out.use_cache for out in missing)
    except Exception:  # noqa: BLE001 - a hint only: never hide the failure itself
        return ""
    commands = [f"git checkout HEAD -- {' '.join(tracked)}"] if tracked else []
    if cached:  # from DVC's cache, as dvc.lock (the committed one, once checked out) names them
        commands.append(f"dvc checkout {stage}")
    if not commands:
        return ""
    return (
        "\nDVC removed this stage's outputs before it ran; the committed ones come back with "
        f"`{' && '.join(commands)}`"
    )


def run_stage(main: Callable[[], None], label: str, kept: Callable[[], str] | None = None) -> None:
    """Run a stage's main; end an interruption, a full disk or a FixableError with one line (and
    how to restore the tracked outputs DVC removed) and exit non-zero.

    `kept` says what an interrupted stage keeps for the next run (train: its last backups).
    """
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)
    stop_when_orphaned()
    try:
        main()
    except KeyboardInterrupt as exc:
        how = "SIGTERM" if isinstance(exc, Interrupted) else "Ctrl-C"
        if ORPHANED.is_set():
            how = "the dvc process that ran it ended"
        what = kept() if kept else "nothing half-written was left"
        print(
            f"{label}: interrupted ({how}); {what}. `dvc repro` runs it again."
            + removed_outputs_line(),
            file=sys.stderr,
            flush=True,
        )
        sys.exit(130)
    except InputError as exc:
        sys.exit(f"{label} failed: {exc}" + removed_outputs_line())
    except FixableError as exc:
        sys.exit(str(exc) + removed_outputs_line())
    except DiskFull as exc:
        sys.exit(disk_full_line(label, exc.path, exc.needed) + removed_outputs_line())
    except OSError as exc:
        if exc.errno in NOT_WRITABLE:
            sys.exit(not_writable_line(label, exc) + removed_outputs_line())
        if exc.errno != errno.ENOSPC:
            raise
        sys.exit(disk_full_line(label, exc.filename or "its outputs", None))
