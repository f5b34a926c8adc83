"""Choose the Keras backend, its threads and a quiet log before Keras loads: one place for all.

Keras reads KERAS_BACKEND once, at import; TensorFlow and XLA read their thread and log settings
when their runtime starts. So every process that builds or loads a model calls `use_backend`
first (stage mains and the training workers alike).
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import platform
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import NoReturn


def use_backend(backend: str, threads: int | None = None) -> None:
    """Select `backend` for Keras; with `threads`, limit its CPU threads; silence library logs."""
    os.environ["KERAS_BACKEND"] = backend
    # C++ logs of TensorFlow/XLA/absl (oneDNN notices, cpu_feature_guard, E0000 ... lines).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    if threads:
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        if backend == "jax":
            os.environ["XLA_FLAGS"] = (
                f"{os.environ.get('XLA_FLAGS', '')} --xla_cpu_multi_thread_eigen=false "
                f"intra_op_parallelism_threads={threads}"
            ).strip()
    for name in ("absl", "tensorflow", "jax._src.xla_bridge"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="keras")


def cpu_description() -> str:
    """The CPU model and its widest vector extensions, e.g. "AMD EPYC (avx2, fma, avx512f)":
    recorded with each training, since LSTM weights differ between CPUs (docs/pipeline.md: Backends,
    "Same numbers where?")."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    model = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), "?")
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    wide = [flag for flag in ("avx2", "fma", "avx512f", "amx_tile") if flag in flags]
    return f"{model} ({', '.join(wide)})" if wide else model


def use_data_backend() -> None:
    """Keras for its data utilities alone (get_file, pad_sequences): the numpy backend, which
    loads no tensor library but in Keras 3.15 needs jax; TensorFlow where jax is not installed."""
    use_backend("numpy" if importlib.util.find_spec("jax") else "tensorflow")


@contextmanager
def native_stderr_hidden() -> Iterator[None]:
    """Hide what native libraries print straight to the stderr file descriptor while they load
    (TensorFlow's oneDNN notice comes before its log settings apply); Python errors still show."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras() -> ModuleType:
    """Keras on the backend chosen by `use_backend`, with that backend's runtime loaded quietly.

    On JAX, TensorFlow stays unloaded even where it is installed: Keras would import it (seconds
    per process, and its start-up lines) only to ask whether a value to save is a TensorFlow
    shape, which no value of a process without TensorFlow can be.
    """
    with native_stderr_hidden():
        import keras

        if keras.backend.backend() == "jax" and "tensorflow" not in sys.modules:
            _keras_without_tensorflow()
    return keras


def _keras_without_tensorflow() -> None:
    """Tell Keras TensorFlow is absent, as on a JAX-only install (Keras 3 keeps that answer in
    its lazy `tensorflow` module); if that module has changed, load TensorFlow quietly instead."""
    from keras.src.utils import module_utils

    lazy = getattr(module_utils, "tensorflow", None)
    if lazy is not None and getattr(lazy, "module", "missing") is None:
        lazy._available = False
    elif importlib.util.find_spec("tensorflow"):
        import tensorflow  # noqa: F401


def end_process() -> NoReturn:
    """End a process that has written all it writes: flush its output and exit with status 0
    now, without unloading what it imported. That teardown does nothing for the outputs and costs
    a process that loaded TensorFlow CPU time (docs/speed.md measures it: fixed cost). A stage
    that loaded Keras calls it after success; a failure exits through run_stage before it."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def end_process_at_exit() -> None:
    """`end_process` at this process's normal end: for a training worker, which ends when the
    stage's process shuts the pool down, after the worker has delivered its results."""
    atexit.register(end_process)
