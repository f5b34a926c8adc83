"""Ensembles: the average of members' probabilities, each member weighing the same, read only
once each file is the one its stage recorded; and in DVC, an ensemble entry is a stage scored
like a model."""

from __future__ import annotations

import argparse
import hashlib
import json

import numpy as np
import pytest

from reuters_rnn.params import parse_params
from reuters_rnn.sections import EnsembleSpec
from reuters_rnn.trained import ModelFileError
from stages.ensemble import POOLED, average, costs, read_members
from tests.tiny_project import DVC, changed_stages, lock, run, set_params

RNG = np.random.default_rng(0)


def probabilities(rows: int = 5) -> np.ndarray:
    raw = RNG.random((rows, 46))
    return raw / raw.sum(axis=1, keepdims=True)


def test_each_seed_averages_that_seeds_trainings_with_every_baseline():
    trained = {
        "a": {1: probabilities(), 2: probabilities()},
        "b": {1: probabilities(), 2: probabilities()},
    }
    logreg = probabilities()
    each = average(EnsembleSpec(members=("a", "b", "logreg")), (1, 2), trained, {"logreg": logreg})
    assert list(each) == ["1", "2"]
    assert np.allclose(each["2"], (trained["a"][2] + trained["b"][2] + logreg) / 3)
    pooled = average(
        EnsembleSpec(members=("a", "logreg"), seeds="pooled"), (1, 2), trained, {"logreg": logreg}
    )
    assert list(pooled) == [POOLED]  # the model's seeds count as one member, as the baseline
    assert np.allclose(pooled[POOLED], ((trained["a"][1] + trained["a"][2]) / 2 + logreg) / 2)
    assert np.allclose(pooled[POOLED].sum(axis=1), 1)


def test_an_ensembles_cost_is_its_model_members_trainings_summed():
    facts = {
        m: {"seeds": [{"seed": s, "weights": w, "train_seconds": 10.0 * s} for s in (1, 2)]}
        for m, w in (("a", 100), ("b", 7))
    }
    each = costs(EnsembleSpec(members=("a", "b", "logreg")), (1, 2), facts)
    assert each["2"] == {"weights": 107, "train_seconds": 40.0}
    pooled = costs(EnsembleSpec(members=("a",), seeds="pooled"), (1, 2), facts)
    assert pooled == {POOLED: {"weights": 200, "train_seconds": 30.0}}


def test_a_member_file_that_is_not_the_recorded_one_is_refused_with_the_fix(tmp_path):
    raw = json.loads(json.dumps(parse_params(_tiny()).model_dump(mode="json")))
    params = parse_params(raw | {"ensembles": {"both": {"members": ["lstm", "majority"]}}})
    labels = np.zeros(5, dtype=int)
    models, training, baselines = tmp_path / "models", tmp_path / "training", tmp_path / "bl"
    for folder in (models / "lstm", training, baselines):
        folder.mkdir(parents=True)
    np.save(models / "lstm/seed-1.probabilities.npy", probabilities())
    (models / "lstm/seed-1.keras").write_bytes(b"model")
    np.save(models / "majority.probabilities.npy", probabilities())

    def sha(path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    run_facts = {
        "seed": 1,
        "model_sha256": sha(models / "lstm/seed-1.keras"),
        "probabilities_sha256": sha(models / "lstm/seed-1.probabilities.npy"),
        "weights": 3,
        "train_seconds": 1.0,
    }
    (training / "lstm.json").write_text(json.dumps({"seeds": [run_facts]}))
    recorded = {"probabilities_sha256": sha(models / "majority.probabilities.npy")}
    (baselines / "majority.json").write_text(json.dumps(recorded))
    args = argparse.Namespace(models=models, training=training, baselines=baselines)
    spec = params.ensembles["both"]
    _, trained, found = read_members(spec, params, args, labels)
    assert set(trained["lstm"]) == {1} and set(found) == {"majority"}
    np.save(models / "majority.probabilities.npy", probabilities())  # another file
    with pytest.raises(
        ModelFileError,
        match=r"not the file baseline majority recorded; rerun it "
        r"with `dvc repro -f baseline@majority`",
    ):
        read_members(spec, params, args, labels)
    np.save(models / "lstm/seed-1.probabilities.npy", probabilities())
    with pytest.raises(ModelFileError, match=r"dvc checkout --force .*lstm"):
        read_members(spec, params, args, labels)


def _tiny() -> dict:
    from tests.tiny_project import tiny_params

    return tiny_params("0" * 64)


@pytest.mark.pipeline
def test_an_ensemble_entry_is_a_stage_scored_and_compared_like_a_model(reproduced_project):
    project = reproduced_project
    before = lock(project)

    def add(params: dict) -> None:
        params["ensembles"] = {"both": {"members": ["vanilla_rnn", "lstm", "majority"]}}
        params["report"]["comparisons"] = [["lstm", "both"]]

    set_params(project, add)
    run([*DVC, "repro"], project)
    assert changed_stages(before, lock(project)) == {"validate", "ensemble@both", "report", "plots"}
    facts = json.loads((project / "metrics/runs/both.json").read_text())["seeds"]["1"]
    labels = np.load(project / "data/prepared/labels_test.npy")
    members = [
        np.load(project / f"models/{m}/seed-1.probabilities.npy") for m in ("vanilla_rnn", "lstm")
    ]
    members.append(np.load(project / "models/majority.probabilities.npy"))
    expected = float((np.mean(members, axis=0).argmax(axis=1) == labels).mean())
    assert facts["accuracy"] == pytest.approx(expected, abs=1e-4)
    report = json.loads((project / "metrics/report.json").read_text())
    assert report["both"] == facts["accuracy"]
    assert "| ensemble: both " in (project / "metrics/report.md").read_text()
    assert "both vs lstm" in (project / "metrics/report.md").read_text()
