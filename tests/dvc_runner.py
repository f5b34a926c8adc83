"""DVC's commands in the test's process, through DVC's own entry point (`dvc.cli.main`, what
the `dvc` script calls): the same command without a Python start and DVC's imports. Where a test
signals DVC, DVC imports what takes over the process (`OWN_PROCESS`), or the caller is not the
main thread, the command runs as a process, as a shell would start it. The search's commands
that only read a storage and write reports (`SEARCH_IN_PROCESS`) run in-process the same way."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from tools.project_copy import DVC


def dvc_command(line: str) -> list[str] | None:
    """A shell line that is one `dvc` command and nothing else, as this interpreter's DVC
    command (which `run` takes in-process); None for anything else."""
    if set("&|;<>$`*?(){}~\\") & set(line):
        return None
    words = shlex.split(line)
    return [*DVC, *words[1:]] if words[:1] == ["dvc"] else None


# Commands that need a process of their own: `dvc artifacts` imports GTO, which configures
# the process's logging (logging.config.dictConfig), closing every handler the process has.
OWN_PROCESS = {"artifacts"}


def dvc_in_process(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`dvc <args>` through DVC's own entry point (`dvc.cli.main`, what the `dvc` script calls),
    in this process: the same command, without a Python start and DVC's imports (about 0.5 s of
    CPU a call). Its output is read from file descriptors 1 and 2, where DVC writes and where the
    stages it runs write; the environment, working folder and streams come back after. From a
    thread that is not the main one (a fixture building in the background), a process runs it;
    a command a test signals is started as a process (`subprocess` with DVC), not through here."""
    if threading.current_thread() is not threading.main_thread() or args[0] in OWN_PROCESS:
        return subprocess.run([*DVC, *args], cwd=cwd, capture_output=True, text=True, env=env)

    def exit_status() -> int:
        from dvc.cli import main  # inside dvc_streams_to, which saves the streams before it

        return main(args)

    result = called([*DVC, *args], exit_status, dvc_streams_to, cwd, env)
    forget_remote_connections()
    return result


def called(cmd: list[str], call, streams, cwd: Path, env: dict[str, str]):
    """`call()` with its output on temporary files through `streams` (a context manager of the
    two files), in `env` and `cwd`, as the completed process `cmd` would be."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        with streams(out, err), environment(env), working_folder(cwd):
            returncode = call()
        out.seek(0)
        err.seek(0)
        stdout, stderr = (f.read().decode(errors="replace") for f in (out, err))
    return subprocess.CompletedProcess(cmd, returncode, stdout, stderr)


# The search's commands that read a storage and write reports; `run` trains and handles signals,
# so it keeps its process.
SEARCH_IN_PROCESS = {"best", "report", "compare"}


def search_in_process(
    args: list[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess | None:
    """`python -m model_search <args>` through its entry point in this process, for the commands
    in SEARCH_IN_PROCESS from the main thread (None for others: the caller starts a process).
    Its exit as the interpreter makes it: status 0, the status given, or the message given to
    `sys.exit` on stderr and status 1; an uncaught exception's traceback and status 1."""
    if args[:1] == [] or args[0] not in SEARCH_IN_PROCESS:
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    import traceback

    from model_search.__main__ import main

    def exit_status() -> int:
        argv, sys.argv = sys.argv, ["reuters-search", *args]
        try:
            main()
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                return exc.code or 0
            print(exc.code, file=sys.stderr)
            return 1
        except Exception:  # noqa: BLE001 - as the interpreter reports it
            traceback.print_exc()
            return 1
        finally:
            sys.argv = argv
        return 0

    return called(["reuters-search", *args], exit_status, streams_to, cwd, env)


# Text streams on file descriptors 1 and 2, whatever those point at: never closed, so that a
# reference DVC's libraries keep after a call still writes where the process's output goes.
FD_STREAMS = (open(1, "w", closefd=False), open(2, "w", closefd=False))  # noqa: SIM115


@contextmanager
def streams_to(out, err):
    """File descriptors 1 and 2 on `out` and `err`, and `sys.stdout`/`sys.stderr` on them."""
    streams = sys.stdout, sys.stderr
    sys.stdout.flush()
    sys.stderr.flush()
    saved_fds = os.dup(1), os.dup(2)
    os.dup2(out.fileno(), 1)
    os.dup2(err.fileno(), 2)
    sys.stdout, sys.stderr = FD_STREAMS
    try:
        yield
    finally:
        for stream in FD_STREAMS:
            stream.flush()
        sys.stdout, sys.stderr = streams
        os.dup2(saved_fds[0], 1)
        os.dup2(saved_fds[1], 2)
        for fd in saved_fds:
            os.close(fd)


@contextmanager
def dvc_streams_to(out, err):
    """streams_to, and every stream DVC holds on file descriptors 1 and 2: its log handlers
    (bound when `dvc` is imported), colorama's saved streams (DVC's `ui` swaps them back in) and
    its rich consoles."""
    import logging

    streams = sys.stdout, sys.stderr  # before DVC's first import, which wraps them (colorama)
    import colorama.initialise as colorama
    from dvc.ui import ui

    sys.stdout, sys.stderr = streams
    handlers = [
        handler
        for name in ("dvc", "dvc_objects", "dvc_data")
        for handler in logging.getLogger(name).handlers
        if isinstance(handler, logging.StreamHandler)
    ]
    names = ("orig_stdout", "orig_stderr", "wrapped_stdout", "wrapped_stderr")
    saved = (
        [handler.stream for handler in handlers],
        {name: getattr(colorama, name) for name in names},
        ui._enabled,
    )
    with streams_to(out, err):
        stdout, stderr = FD_STREAMS
        for handler in handlers:  # DVC's log lines: warnings and errors to stderr
            handler.setStream(stderr if handler.level >= logging.WARNING else stdout)
        for name in names:
            setattr(colorama, name, stderr if name.endswith("stderr") else stdout)
        for cached in ("rich_console", "error_console"):  # rebuilt on these streams
            ui.__dict__.pop(cached, None)
        ui._enabled = False  # as a new process starts it: `main` enables it unless -q
        try:
            yield
        finally:
            for handler, stream in zip(handlers, saved[0], strict=True):
                handler.setStream(stream)
            for name, value in saved[1].items():
                setattr(colorama, name, value)
            for cached in ("rich_console", "error_console"):
                ui.__dict__.pop(cached, None)
            ui._enabled = saved[2]


@contextmanager
def environment(env: dict[str, str]):
    """os.environ is `env` inside (what a process started with `env` would see)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def working_folder(folder: Path):
    saved = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(saved)


def forget_remote_connections() -> None:
    """fsspec keeps a filesystem (and its connections) per remote for the process's life; a
    `dvc` process would start with none, and a test may restart or freeze the server."""
    if "s3fs" in sys.modules:
        sys.modules["s3fs"].S3FileSystem.clear_instance_cache()
