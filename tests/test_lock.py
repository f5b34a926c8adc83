"""The committed dvc.lock describes the pipeline as it is: no entry for a stage that is gone."""

from __future__ import annotations

import yaml

from tests.tiny_project import DVC, PROJECT, run


def test_the_committed_lock_holds_only_stages_that_exist():
    stages = set(run([*DVC, "stage", "list", "--name-only"], PROJECT).stdout.split())
    locked = set(yaml.safe_load((PROJECT / "dvc.lock").read_text())["stages"])
    assert locked - stages == set(), "dvc.lock has stages dvc.yaml no longer has: remove them"
