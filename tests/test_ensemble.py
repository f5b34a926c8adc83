"""Ensembles: the average of members' probabilities, each member weighing the same, read only
once each file is the one its stage recorded; and in DVC, an ensemble entry is a stage scored
like a model."""

from __future__ import annotations

import argparse
import hashlib
import json

import numpy as np
import pytest

from reuters_rnn.data.trained import ModelFileError
from reuters_rnn.fit.ensembling import POOLED, average
from reuters_rnn.schema.params import parse_params
from reuters_rnn.schema.sections import EnsembleSpec
from stages.ensemble import costs, read_members
from tests.tiny_project import (
    DVC,
    SEARCH,
    changed_stages,
    lock,
    run,
    set_params,
    tiny_arrays,
    tiny_with_tfidf,
)

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


def test_an_ensembles_cost_is_its_members_trainings_and_fits_summed():
    facts = {
        m: {"seeds": [{"seed": s, "weights": w, "train_seconds": 10.0 * s} for s in (1, 2)]}
        for m, w in (("a", 100), ("b", 7))
    }
    each = costs(EnsembleSpec(members=("a", "b", "logreg")), (1, 2), facts)
    assert each["2"] == {"weights": 107, "train_seconds": 40.0}
    logreg = {"logreg": {"accuracy": 0.9, "weights": 1000, "train_seconds": 1.5}}
    fitted = costs(EnsembleSpec(members=("a", "b", "logreg")), (1, 2), facts, logreg)
    assert fitted["2"] == {"weights": 1107, "train_seconds": 41.5}
    pooled = costs(EnsembleSpec(members=("a",), seeds="pooled"), (1, 2), facts)
    assert pooled == {POOLED: {"weights": 200, "train_seconds": 30.0}}
    # Seconds summed as the records give them (two decimals), not with a float's tail.
    facts["a"]["seeds"] = [
        {"seed": s, "weights": 1, "train_seconds": t} for s, t in ((1, 0.1), (2, 0.2))
    ]
    assert costs(EnsembleSpec(members=("a",), seeds="pooled"), (1, 2), facts)[POOLED] == {
        "weights": 2,
        "train_seconds": 0.3,
    }


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
    _, trained, found, _ = read_members(spec, params, args, labels)
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


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_an_ensembles_folds_average_its_members_fold_fits_as_the_stage_averages_them():
    """The search scores an ensemble on the same (seed, fold) fits as its members: a pooled
    ensemble of one seed's model is that model; a member with a model's spec is not fitted
    again; a baseline member's fold fits are the baseline stage's."""
    from model_search.cross_validation import cross_validate, folds
    from reuters_rnn.fit.baselines import fit_predict
    from reuters_rnn.fit.entries import of
    from reuters_rnn.fit.entry import Memo

    raw = tiny_with_tfidf(epochs=1, seeds=[1, 2])
    raw["models"]["swem"]["learning_rate"] = 0.0003  # a weak model: the baseline matters
    raw["models"]["twin"] = dict(raw["models"]["swem"])  # the same spec: the same fits
    raw["ensembles"] = {
        "alone": {"members": ["swem"], "seeds": "pooled"},
        "twins": {"members": ["swem", "twin"]},
        "mixed": {"members": ["swem", "tfidf_logreg"]},
    }
    params = parse_params(raw)
    arrays = tiny_arrays()
    x, labels = arrays["x_train"], arrays["labels_train"]
    memo = Memo()
    swem = cross_validate(of(params, "swem"), x, labels, 2, memo=memo)
    assert len(memo.kept["fit"]) == 4  # 2 seeds x 2 folds
    swem_runs = [fit.probabilities for fit in memo.kept["fit"].values()]  # seed-major, as fitted
    twins = cross_validate(of(params, "twins"), x, labels, 2, memo=memo)
    assert twins.accuracies == swem.accuracies
    assert len(memo.kept["fit"]) == 4 + 4  # nothing refitted: the ensemble's own 4 fits added
    mixed = cross_validate(of(params, "mixed"), x, labels, 2, memo=memo)
    splits = folds(len(x), 2)
    expected = []
    for i, (train, held) in enumerate(splits * 2):
        logreg = fit_predict(params.baselines["tfidf_logreg"], x[train], labels[train], x[held])[0]
        both = (swem_runs[i] + logreg) / 2
        expected.append(float((both.argmax(axis=1) == labels[held]).mean()))
    assert mixed.accuracies == pytest.approx(expected)
    assert expected != swem.accuracies and max(swem.accuracies) < 1  # it changes answers
    assert mixed.fit_seconds > swem.fit_seconds  # its members' fits: swem's and the baseline's

    one_seed = parse_params({**raw, "train": {**raw["train"], "seeds": [1]}})
    own = cross_validate(of(one_seed, "swem"), x, labels, 2)
    alone = cross_validate(of(one_seed, "alone"), x, labels, 2)
    assert alone.accuracies == own.accuracies and alone.fits == 2


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_a_grid_candidate_naming_an_ensemble_is_scored_on_its_members_fits(tmp_path):
    """search.yaml may name an ensemble as a candidate; its trial's accuracies are the average
    of its members' fits, and the study's identity holds the members' specs."""
    import optuna
    import yaml

    from model_search.objective import objective_for
    from model_search.search_file import load_search, space_identity

    raw = tiny_with_tfidf(epochs=1, seeds=[1])
    raw["ensembles"] = {"mixed": {"members": ["swem", "tfidf_logreg"]}}
    params = parse_params(raw)
    search_file = {
        **SEARCH,
        "spaces": {
            "ens": {"model": "swem", "sampler": "grid", "candidates": {"mixed": {"model": "mixed"}}}
        },
    }
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(search_file))
    search = load_search(path, params)
    identity = space_identity(search, "ens", params)
    assert set(identity["models"]) == {"swem", "mixed", "tfidf_logreg"}  # with its members
    arrays = tiny_arrays()
    x, labels = arrays["x_train"], arrays["labels_train"]
    objective = objective_for(params, search, search.spaces["ens"], x, labels)
    trial = optuna.trial.FixedTrial({"candidate": "mixed"})
    score = objective(trial)
    assert trial.user_attrs["model"] == "mixed" and len(trial.user_attrs["accuracies"]) == 2
    assert score == pytest.approx(sum(trial.user_attrs["accuracies"]) / 2)
