"""The whole-set pipeline: its own DVC project in whole_set/, the same stage code, every newswire
kept and padded to a set length, early stopping on a part of the training split, length buckets,
and the paired comparison in its report; `dvc repro` at the root never starts it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.tiny_project import DVC, PROJECT, commit_all, run

pytestmark = pytest.mark.pipeline
SUBPROJECT = (".dvc/config", ".dvc/.gitignore", ".dvc/plots", ".dvcignore", "dvc.yaml")


def whole_set_copy(project: Path, edit) -> Path:
    """whole_set/ as committed (minus results), in the tiny project, with its tiny params."""
    sub = project / "whole_set"
    for name in SUBPROJECT:
        source, target = PROJECT / "whole_set" / name, sub / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    params = yaml.safe_load((project / "params.yaml").read_text())
    edit(params)
    (sub / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return sub


def test_the_whole_set_runs_as_its_own_project_with_early_stopping_and_paired_tests(
    reproduced_project,
):
    def whole_set(params):
        # Every synthetic newswire (3-40 words) kept, padded or cut to 30 steps.
        params["data"].update(maxlen=None, pad_to=30, truncating="post")
        params["train"].update(
            epochs=4,
            early_stopping={"validation_fraction": 0.2, "patience": 1},
            length_buckets=[8, 16],
        )
        params["models"] = {"lstm": params["models"]["lstm"]}
        params["report"].update(comparisons=[], published={})

    sub = whole_set_copy(reproduced_project, whole_set)
    out = run([*DVC, "repro"], sub)
    assert "Running stage 'train@lstm'" in out.stdout

    facts = json.loads((sub / "metrics/data.json").read_text())
    assert facts["train_sequences"] + facts["test_sequences"] == 300  # none dropped
    assert np.load(sub / "data/prepared/x_train.npy").shape[1:] == (30, 1)
    seed = json.loads((sub / "metrics/training/lstm.json").read_text())["seeds"][0]
    assert 1 <= seed["best_epoch"] <= seed["epochs_run"] <= 4
    curves = pd.read_csv(sub / "metrics/curves/lstm.csv")
    assert set(curves["split"]) == {"train", "early-stopping"}  # the test split decides nothing
    held_out = curves[curves["split"] == "early-stopping"]
    assert held_out.loc[held_out["loss"].idxmin(), "epoch"] == seed["best_epoch"]
    predictions = pd.read_csv(sub / "metrics/predictions/lstm.csv")
    assert len(predictions) == facts["test_sequences"]
    report = (sub / "metrics/report.md").read_text()
    assert "## Which model to use" in report  # the rule's answer, on the whole set's test split
    clean = facts["test_sequences"] - facts["test_conflicting"]
    assert f"on the {clean} of {facts['test_sequences']} test newswires" in report

    # Its own project: the root's `dvc status` and `dvc repro` neither see nor start it, and its
    # experiments list its metrics.
    commit_all(reproduced_project, "the whole set, run")
    assert "whole_set" not in run([*DVC, "status"], reproduced_project).stdout
    assert "Running stage" not in run([*DVC, "repro"], reproduced_project).stdout
    shown = run([*DVC, "exp", "show", "--csv"], sub).stdout.splitlines()
    assert "lstm" in shown[0].split(",") and "data.pad_to" in shown[0].split(",")
