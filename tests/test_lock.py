"""The committed dvc.lock describes the pipeline as it is: no entry for a stage that is gone."""

from __future__ import annotations

import pytest
import yaml

from tests.tiny_project import DVC, PROJECT, SEARCH_CMD, run


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_the_committed_lock_holds_only_stages_that_exist():
    stages = set(run([*DVC, "stage", "list", "--name-only"], PROJECT).stdout.split())
    locked = set(yaml.safe_load((PROJECT / "dvc.lock").read_text())["stages"])
    assert locked - stages == set(), "dvc.lock has stages dvc.yaml no longer has: remove them"


def test_a_unit_test_that_starts_a_process_is_told_to_mark_itself():
    """conftest's rule: unmarked, a test may not start a process nor run DVC or the search's
    command in its own (it would not be a unit test)."""
    import subprocess

    with pytest.raises(AssertionError, match="starts a process: mark it @pytest.mark.pipeline"):
        subprocess.run(["true"])
    # DVC and the search's read-only commands run in the test's process (tests/dvc_runner.py):
    # refused all the same.
    with pytest.raises(AssertionError, match="runs DVC: mark it @pytest.mark.pipeline"):
        run([*DVC, "status"], PROJECT)
    with pytest.raises(AssertionError, match="runs the search's command: mark it"):
        run([*SEARCH_CMD, "best", "swem"], PROJECT)
