"""Shared fixtures: synthetic Reuters-format data, tiny params, and a temporary project copy."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

# Tests that build Keras models in-process use TensorFlow unless the caller says otherwise.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tools.project_copy import DVC, ENV, PROJECT, copy_project  # noqa: F401  (DVC: for tests)

REAL_NPZ = PROJECT.parent / "shared" / "data" / "reuters.npz"
REAL_SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"

PUBLISHED = ("vanilla_rnn", "stacked_vanilla_rnn", "lstm", "stacked_lstm")

needs_real_data = pytest.mark.skipif(
    not REAL_NPZ.exists(),
    reason=f"real-data check: {REAL_NPZ} is absent (it ships in the repo's shared/data/)",
)


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


def tiny_params(sha256: str, all_models: bool = False) -> dict:
    """The project's params.yaml shrunk to seconds: synthetic-data hash, 2 epochs, one seed and,
    unless `all_models`, two models and one baseline (each stage costs a Python start)."""
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["data"].update(sha256=sha256, maxlen=30, num_words=300)
    params["train"].update(epochs=2, batch_size=32, seeds=[1])
    published = params["models"]
    params["models"] = {name: spec for name, spec in published.items() if name in PUBLISHED}
    if not all_models:
        params["models"] = {name: params["models"][name] for name in ("vanilla_rnn", "lstm")}
        params["baselines"] = {"majority": params["baselines"]["majority"]}
        params["report"]["comparisons"] = [["vanilla_rnn", "lstm"]]
    kept = set(params["models"])
    params["report"]["comparisons"] = [p for p in params["report"]["comparisons"] if set(p) <= kept]
    return params


@pytest.fixture
def keras_home(tmp_path, monkeypatch) -> Path:
    """An empty Keras cache directory, used through $KERAS_HOME."""
    home = tmp_path / "keras_home"
    (home / "datasets").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def run(cmd: list[str], cwd: Path, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, echoing its output on failure so a red test says why."""
    env = {**ENV, "KERAS_HOME": os.environ.get("KERAS_HOME", "")}
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


@pytest.fixture
def project(tmp_path, keras_home) -> Path:
    """A copy of the project in a fresh git + DVC repo, fed by a synthetic Keras cache file."""
    return make_project(tmp_path, keras_home, all_models=False)


@pytest.fixture
def full_project(tmp_path, keras_home) -> Path:
    """Like `project`, with the four published models and both baselines."""
    return make_project(tmp_path, keras_home, all_models=True)


@pytest.fixture(scope="session")
def reproduced_template(tmp_path_factory) -> tuple[Path, Path]:
    """One tiny project run through `dvc repro` and committed, built once per test session."""
    base = tmp_path_factory.mktemp("reproduced")
    keras_home = base / "keras_home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERAS_HOME", str(keras_home))
        repo = make_project(base, keras_home, all_models=False)
        run([*DVC, "repro"], repo)
        run(["git", "add", "-A"], repo)
        run(["git", "commit", "-qm", "tiny run"], repo)
    return repo, keras_home


@pytest.fixture
def reproduced_project(tmp_path, reproduced_template, monkeypatch) -> Path:
    """A private copy of the reproduced tiny project (outputs, DVC cache and git history)."""
    template, keras_home = reproduced_template
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return Path(shutil.copytree(template, tmp_path / "project", symlinks=True))


def make_project(tmp_path: Path, keras_home: Path, all_models: bool) -> Path:
    sha = write_synthetic_npz(keras_home / "datasets" / "reuters.npz")
    fresh = tiny_params(sha, all_models)
    return copy_project(tmp_path / "project", lambda params: params.update(fresh))


def set_params(repo: Path, update) -> None:
    """Edit the copy's params.yaml with a function of the parsed mapping."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    update(params)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
