"""Tiny projects for the pipeline tests: synthetic Reuters-format data, shrunk params, DVC runs
(in the test's process where it can: tests/dvc_runner.py); and the helpers the test modules share
(none imports another test module).

The params come from a copy of the project's defaults, shrunk (tiny_params): no test depends on
what the live params.yaml holds beyond the published models' specs.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import yaml

import tests.dvc_runner as runner  # its search_in_process is refused to unit tests (conftest)
from model_search.search_file import load_search
from reuters_rnn.data.dataset import NUM_CLASSES
from reuters_rnn.schema.params_file import ParamsError
from tests.dvc_runner import dvc_command, dvc_in_process
from tools.project_copy import DVC, ENV, PROJECT, copy_project

REAL_NPZ = PROJECT.parent / "shared" / "data" / "reuters.npz"
REAL_SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
TINY_MODELS = ("vanilla_rnn", "lstm")

needs_real_data = pytest.mark.skipif(
    not REAL_NPZ.exists(),
    reason=f"real-data check: {REAL_NPZ} is absent (it ships beside the repo in shared/data/)",
)


def published() -> dict[str, float]:
    """The published accuracies, as params.yaml records them (one definition)."""
    return yaml.safe_load((PROJECT / "params.yaml").read_text())["report"]["published"]


def write_synthetic_npz(path: Path, n: int = 300, seed: int = 0, vocabulary: int = 400) -> str:
    """A small file in Keras's reuters.npz format (pickled ragged `x`, int `y`); returns sha256.

    Each topic prefers its own band of word ids, so even tiny models learn something.
    """
    rng = np.random.default_rng(seed)
    labels = rng.choice([3, 4, 19, 1, 11], size=n, p=[0.4, 0.25, 0.15, 0.1, 0.1])
    seqs = []
    for label in labels:
        length = int(rng.integers(3, 40))
        band = rng.integers(1 + 10 * (label % 20), 11 + 10 * (label % 20), size=length)
        noise = rng.integers(1, vocabulary, size=length)
        seqs.append(np.where(rng.random(length) < 0.6, band, noise).tolist())
    x = np.empty(n, dtype=object)
    x[:] = seqs
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, x=x, y=labels.astype("int64"))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tiny_params(sha256: str, models: tuple[str, ...] = TINY_MODELS) -> dict:
    """The project's default params shrunk to seconds: synthetic-data hash, 2 epochs, one seed,
    no XLA, the given models, the majority baseline (each stage costs a Python start)."""
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["data"].update(sha256=sha256, maxlen=30, num_words=300)
    # jit_compile off: XLA's compile costs more than a tiny training (3.5 s of each 15 s
    # `dvc repro train@lstm`); the real run keeps it on, and test_models compiles with it.
    params["train"].update(
        epochs=2, batch_size=32, seeds=[1], checkpoint_every=1, jit_compile=False
    )
    params["models"] = {name: params["models"][name] for name in models}
    for spec in params["models"].values():
        spec.pop("epochs", None)
    params["baselines"] = {"majority": {"kind": "majority"}}
    params["ensembles"] = {}
    params["report"]["comparisons"] = [
        pair for pair in params["report"]["comparisons"] if set(pair) <= set(models)
    ]
    published = params["report"]["published"]
    params["report"]["published"] = {m: published[m] for m in published if m in models}
    return params


def make_project(tmp_path: Path, keras_home: Path, models: tuple[str, ...] = TINY_MODELS) -> Path:
    sha = write_synthetic_npz(keras_home / "datasets" / "reuters.npz")
    fresh = tiny_params(sha, models)
    return copy_project(tmp_path / "project", lambda params: params.update(fresh))


def run(
    cmd: list[str], cwd: Path, check: bool = True, keras_home: Path | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """Run a command (with the test's $KERAS_HOME unless given one), echoing its output on
    failure so a red test says why. A DVC command, or a shell line that is one (advice run as
    printed), runs in this process, as do the search's `best`, `report` and `compare`
    (tests/dvc_runner.py)."""
    env = {key: value for key, value in ENV.items() if key != "KERAS_HOME"}
    home = keras_home or os.environ.get("KERAS_HOME")
    if home:  # an empty KERAS_HOME would make Keras write keras.json into the working folder
        env["KERAS_HOME"] = str(home)
    if cmd[:2] == ["bash", "-c"] and len(cmd) == 3:
        cmd = dvc_command(cmd[2]) or cmd
    result = None
    if cmd[: len(DVC)] == DVC and not kwargs:
        result = dvc_in_process(cmd[len(DVC) :], cwd, env)
    elif cmd[: len(SEARCH_CMD)] == SEARCH_CMD and not kwargs:
        result = runner.search_in_process(cmd[len(SEARCH_CMD) :], cwd, env)
    if result is None:
        result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def set_params(repo: Path, update) -> None:
    """Edit the copy's params.yaml with a function of the parsed mapping."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    update(params)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def lock(repo: Path) -> dict:
    return yaml.safe_load((repo / "dvc.lock").read_text())["stages"]


def changed_stages(before: dict, after: dict) -> set[str]:
    """Stages whose dvc.lock entry (deps, params, outs hashes) differs: what DVC re-ran."""
    return {name for name in after if before.get(name) != after[name]}


def stale(repo: Path) -> set[str]:
    return set(json.loads(run([*DVC, "status", "--json"], repo).stdout))


def commit_all(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", message], repo)


__all__ = ["DVC", "ENV", "PROJECT"]


@contextmanager
def read_only(folder: Path):
    """`folder` unwritable: its mode for a user, a read-only (empty) mount over it for root,
    whom modes do not stop."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"a read-only folder needs a mount, which this user cannot make: {mounted}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


# Shared by several test modules: a search file, toy arrays, a process started as from a
# terminal.
TRAIN_LSTM = [
    "python",
    "-m",
    "stages.train",
    "lstm",
    "data/prepared",
    "models/lstm",
    "metrics/curves/lstm.csv",
]


def start(cmd, repo) -> subprocess.Popen:
    env = {**ENV, "KERAS_HOME": os.environ.get("KERAS_HOME", ""), "PYTHONUNBUFFERED": "1"}
    env["PROGRESS_EVERY"] = "0"  # a progress line every epoch, to kill or edit at a known one
    return subprocess.Popen(
        cmd,
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # As from a terminal: Ctrl-C interrupts (a shell's background job starts with it ignored).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler),
    )


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 180) -> str:
    """Read the process's output until a line contains `needle`; the lines read so far."""
    seen, deadline = [], time.monotonic() + timeout
    for line in proc.stdout:
        seen.append(line)
        if needle in line:
            return "".join(seen)
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise AssertionError(f"never saw {needle!r}; output:\n{''.join(seen)[-3000:]}")


SEARCH = {
    "folds": 2,
    "storage": "sqlite:///search/studies.db",
    "heartbeat_seconds": 1,
    "grace_seconds": 3,
    "pruning": {"startup_trials": 5, "warmup_fits": 1},
    "spaces": {
        "tpe": {
            "model": "swem",
            "trials": 3,
            "keys": {
                "embedding_dim": {"low": 8, "high": 64, "log": True},
                "epochs": {"low": 2, "high": 4},
            },
        },
        "grid": {
            "model": "swem",
            "sampler": "grid",
            "candidates": {"max_only": {"pooling": ["max"]}},
        },
    },
}
SEARCH_CMD = [sys.executable, "-m", "model_search"]


def tiny_arrays(n: int = 160, steps: int = 29, seed: int = 0) -> dict[str, np.ndarray]:
    """Prepared arrays of a learnable toy task: each of 4 topics prefers its own band of ids."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split in ("train", "test"):
        labels = rng.integers(0, 4, size=n)
        ids = np.where(
            rng.random((n, steps)) < 0.6,
            10 + 20 * labels[:, None] + rng.integers(0, 20, (n, steps)),
            rng.integers(3, 300, (n, steps)),
        )
        arrays[f"x_{split}"] = ids[..., None].astype("float32")
        arrays[f"labels_{split}"] = labels
        arrays[f"y_{split}"] = np.eye(NUM_CLASSES, dtype="float32")[labels]
    return arrays


def refused(search: dict, params, tmp_path: Path, *messages: str) -> None:
    """Loading `search` as search.yaml fails with one error that names every problem."""
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(search))
    with pytest.raises(ParamsError) as error:
        load_search(path, params)
    missing = [message for message in messages if message not in str(error.value)]
    assert not missing, f"{missing} not in:\n{error.value}"


TFIDF_SPACE = {
    "model": "tfidf_logreg",
    "trials": 2,
    "pruner": "none",
    "keys": {"C": {"low": 1.0, "high": 100.0, "log": True}, "ngram_max": {"choices": [1, 2]}},
}


def tiny_with_tfidf(**train) -> dict:
    params = tiny_params("0" * 64, ("swem",))
    params["baselines"]["tfidf_logreg"] = {"kind": "tfidf_logreg", "C": 10.0, "ngram_max": 1}
    params["train"].update(train)
    return params
