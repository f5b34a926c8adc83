"""Model search over baselines and on the whole set: a space may vary a params.yaml baseline
(same folds, same builder as the baseline stage), a search file may set its own seeds, and folds
stop early as train does under train.early_stopping."""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import replace

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml

from model_search.candidates import spec_for
from model_search.objective import objective_for
from model_search.promotion import promotion
from model_search.results import comparison
from model_search.search_file import load_search, searched_params
from model_search.settings import Settings
from model_search.space import SearchError, SearchFile
from reuters_rnn.fit.baselines import fit_predict
from reuters_rnn.schema.params import load_params, parse_params
from tests.tiny_project import (
    PROJECT,
    SEARCH,
    SEARCH_CMD,
    TFIDF_SPACE,
    refused,
    tiny_arrays,
    tiny_params,
    tiny_with_tfidf,
)


def test_whole_set_search_spaces_are_valid_and_take_their_own_seeds():
    params = load_params(PROJECT / "whole_set/params.yaml")
    search = load_search(PROJECT / "whole_set/search.yaml", params)
    assert search.spaces["tfidf_logreg"].model in params.baselines
    assert params.train.seeds == (1, 2, 3)
    searched = searched_params(params, search, "search.yaml")
    assert searched.train.seeds == search.seeds == (1,)
    assert searched.models == params.models and searched.baselines == params.baselines


def test_a_baseline_space_is_checked_against_the_baselines_schema(tmp_path):
    params = parse_params(tiny_with_tfidf())
    bad = copy.deepcopy(SEARCH)
    bad["spaces"] = {
        "typo": {**TFIDF_SPACE, "keys": {"ngram": {"choices": [1, 2]}}},
        "outside": {**TFIDF_SPACE, "keys": {"C": {"low": 20.0, "high": 100.0}}},
        "refused": {**TFIDF_SPACE, "keys": {"min_df": {"choices": [0, 1]}}},
        "epochs": {**TFIDF_SPACE, "keys": {"epochs": {"low": 1, "high": 3}}},
    }
    refused(
        bad,
        params,
        tmp_path,
        "spaces.typo.keys.ngram: not a key of baselines.tfidf_logreg (did you mean 'ngram_max'?)",
        "spaces.outside.keys.C: must include baselines.tfidf_logreg.C as params.yaml has it (10.0)",
        "spaces.refused.keys.min_df: 0 is not allowed",
        "spaces.epochs.keys.epochs: not a key of baselines.tfidf_logreg",
    )


def test_a_baseline_is_cross_validated_as_the_stage_fits_it_once_per_fold():
    from model_search.cross_validation import cross_validate, folds
    from reuters_rnn.fit.baselines import Baseline

    params = parse_params(tiny_with_tfidf(seeds=[1, 2, 3]))
    spec = spec_for(params, "tfidf_logreg", {"C": 100.0, "min_df": 2})
    assert spec.C == 100.0 and spec.min_df == 2 and spec.ngram_max == 1
    arrays = tiny_arrays()
    x, labels = arrays["x_train"], arrays["labels_train"]
    result = cross_validate(Baseline(params, "tfidf_logreg", spec), x, labels, 4)
    by_fold = [
        float((fit_predict(spec, x[t], labels[t], x[h])[0].argmax(axis=1) == labels[h]).mean())
        for t, h in folds(len(x), 4)
    ]
    assert result.fits == 4
    assert result.accuracies == by_fold * 3  # one fit per fold, paired with each seed's fits
    assert min(by_fold) > 0.5  # the toy task is learnable: the folds were scored, not guessed


def test_a_baseline_study_scores_the_current_setting_first_and_promotes_into_baselines():
    from model_search.study import enqueue_current

    params = parse_params(tiny_with_tfidf())
    search = SearchFile.model_validate({**SEARCH, "spaces": {"tfidf": TFIDF_SPACE}})
    space = search.spaces["tfidf"]
    arrays = tiny_arrays()
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    enqueue_current(study, params, space)
    objective = objective_for(params, search, space, arrays["x_train"], arrays["labels_train"])
    study.optimize(objective, n_trials=3)
    first = study.trials[0]
    assert first.params == {"C": 10.0, "ngram_max": 1} and first.user_attrs["current"]
    assert [t.user_attrs["fits"] for t in study.trials] == [2, 2, 2]
    assert all(t.user_attrs["model"] == "tfidf_logreg" for t in study.trials)
    facts = comparison(study.trials)
    assert facts["current_trial"] == 0 and facts["fits"] == 2
    promoted = promotion(
        "tfidf_logreg", {"C": 31.5, "ngram_max": 1}, {"C": 10.0, "ngram_max": 1}, "baselines"
    )
    assert promoted.command == "dvc exp run -S 'baselines.tfidf_logreg.C=31.5'"


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_folds_stop_early_as_train_does_and_score_the_best_epoch():
    """Under train.early_stopping each fit watches the last part of its fold's training
    newswires, stops after `patience` epochs without a better watched loss, and its held-out
    accuracy is the best epoch's."""
    from model_search.cross_validation import cross_validate
    from reuters_rnn.fit.model_entry import Model

    stopping = {"validation_fraction": 0.25, "patience": 2}
    params = parse_params(tiny_with_tfidf(epochs=60, early_stopping=stopping))
    spec = spec_for(params, "swem", {"learning_rate": 0.05})
    arrays = tiny_arrays()
    swem = Model(params, "swem", spec)
    result = cross_validate(swem, arrays["x_train"], arrays["labels_train"], 2)
    assert all(epochs < 60 for epochs in result.epochs)  # stopped, far before the cap
    assert len(result.accuracies) == 2 and min(result.accuracies) > 0.5


def test_compare_pairs_two_studies_best_trials_only_when_they_share_the_fits(
    tmp_path, monkeypatch, capsys
):
    """`compare` pairs the best trial of one study with another's, fit for fit, and refuses
    studies scored on other folds, seeds or data."""
    import json

    from model_search.study import open_storage
    from model_search.versus import compare

    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params("0" * 64, ("swem",))))
    spaces = {name: SEARCH["spaces"]["tpe"] for name in ("neural", "linear", "other_folds")}
    (tmp_path / "search.yaml").write_text(yaml.safe_dump({**SEARCH, "spaces": spaces}))
    monkeypatch.chdir(tmp_path)
    params = load_params("params.yaml")
    search = load_search("search.yaml", params)
    storage = open_storage("sqlite:///search/studies.db", search)
    fits = {"folds": 5, "train": {"seeds": [1]}, "num_words": 300}
    scored = {
        "neural": (fits, [[0.80, 0.82, 0.81, 0.83, 0.82], [0.84, 0.85, 0.83, 0.86, 0.85]]),
        "linear": (fits, [[0.82, 0.83, 0.82, 0.84, 0.83]]),
        "other_folds": ({**fits, "folds": 3}, [[0.9, 0.9, 0.9]]),
    }
    for name, (facts, trials) in scored.items():
        study = optuna.create_study(storage=storage, study_name=name, direction="maximize")
        study.set_user_attr("identity", {"space": name, **facts, "data": "ab12"})
        for accuracies in trials:
            study.add_trial(
                optuna.trial.create_trial(
                    value=float(np.mean(accuracies)),
                    user_attrs={"accuracies": accuracies, "model": name, "set": {}},
                )
            )
    args = Settings("compare", "neural", against="linear")
    compare(args)
    facts = json.loads((tmp_path / "search/neural/versus_linear.json").read_text())
    assert facts["best"]["trial"] == 1 and facts["against"]["trial"] == 0
    assert facts["difference"] == pytest.approx(0.018) and facts["fits"] == 5
    assert 0 < facts["p"] < 0.05
    assert "over the same 5 fits, paired t-test" in capsys.readouterr().out
    with pytest.raises(SearchError, match="not scored on the same fits \\(folds differ\\)"):
        compare(replace(args, against="other_folds"))


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_the_whole_sets_tracked_searches_answer_in_a_fresh_clone(tmp_path):
    """A teammate's clone holds whole_set/search/<study>/ but no storage: `best` answers from the
    tracked results, and supports no change to the committed params: the chosen model is the
    best, or the study's best lies inside seed noise of it."""
    import shutil

    from tests.tiny_project import run

    for name in ("params.yaml", "search.yaml"):
        shutil.copy(PROJECT / "whole_set" / name, tmp_path / name)
    shutil.copytree(PROJECT / "whole_set/search", tmp_path / "search")
    (tmp_path / "search/studies.db").unlink(missing_ok=True)
    for study, entry in (
        ("tfidf_logreg", "baselines.tfidf_logreg"),
        ("swem_variations", "models.swem"),  # searched at 64 dimensions; 128 promoted since
    ):
        answer = run([*SEARCH_CMD, "best", study], tmp_path).stdout.splitlines()
        assert answer[0].startswith(f"search {study}: no storage holds the study")
        assert answer[-1] == f"The current {entry} is the best: nothing to promote." or (
            "this search does not support a change" in "\n".join(answer)
        ), answer
    versus = json.loads(
        (PROJECT / "whole_set/search/swem_variations/versus_tfidf_logreg.json").read_text()
    )
    assert versus["fits"] == 5 and versus["against"]["model"] == "tfidf_logreg"


def tracked_study(tmp_path, best: int, started_dim: int) -> None:
    """A clone of the whole set holding only the tracked results of a swem study whose best
    trial is `best` (trial 0: the model the study started from, at `started_dim` dimensions)."""
    for name in ("params.yaml", "search.yaml"):
        shutil.copy(PROJECT / "whole_set" / name, tmp_path / name)
    spec = load_params(PROJECT / "whole_set/params.yaml").models["swem"].model_dump(mode="json")
    folder = tmp_path / "search/swem"
    folder.mkdir(parents=True)
    facts = {
        "best_trial": best,
        "best_accuracy": 0.84,
        "started_from": {**spec, "embedding_dim": started_dim},
        "current_trial": 0,
        "current_accuracy": 0.838,
        "difference": 0.002 if best else 0.0,
        "p": 0.3 if best else 1.0,
        "p_holm": 0.9 if best else 1.0,
        "compared": 5,
        "fits": 5,
    }
    (folder / "comparison.json").write_text(json.dumps(facts))
    (folder / "summary.md").write_text("# search swem\n")
    trials = [
        {"trial": 0, "model": "swem", "settings": json.dumps({"embedding_dim": started_dim})},
        {"trial": 3, "model": "swem", "settings": json.dumps({"word_dropout": 0.2})},
    ]
    pd.DataFrame(trials).to_csv(folder / "trials.csv", index=False)


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_best_never_advises_undoing_a_promotion_and_says_when_params_changed(tmp_path):
    """The study started from 64 dimensions; 128 were promoted since. Its best trial being the one
    it started from, there is nothing to promote (not "set 64 again"); another best trial is
    offered with a note that the current model is no longer the one the trials were compared with."""
    from tests.tiny_project import run

    tracked_study(tmp_path, best=0, started_dim=64)
    answer = run([*SEARCH_CMD, "best", "swem"], tmp_path).stdout.splitlines()
    note = (
        "Note: params.yaml's models.swem has changed since this study started (embedding_dim 64 "
        "-> 128); its trials were compared with the model as it was then."
    )
    assert answer[2:] == [
        note,
        "The best trial is the model this study started from: nothing to promote.",
    ]
    shutil.rmtree(tmp_path / "search")
    tracked_study(tmp_path, best=3, started_dim=64)
    answer = run([*SEARCH_CMD, "best", "swem"], tmp_path).stdout.splitlines()
    assert answer[2] == note
    assert "p = 0.900, Holm-adjusted for 5 settings" in answer[3]
    assert answer[4] == "dvc exp run -S 'models.swem.word_dropout=0.2'"
    shutil.rmtree(tmp_path / "search")
    tracked_study(tmp_path, best=3, started_dim=128)  # nothing changed since: no note
    answer = run([*SEARCH_CMD, "best", "swem"], tmp_path).stdout.splitlines()
    assert not any(line.startswith("Note:") for line in answer)


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_report_in_a_clone_points_at_the_committed_report_and_keeps_the_study_name(tmp_path):
    from tests.tiny_project import run

    tracked_study(tmp_path, best=3, started_dim=128)
    refused = run([*SEARCH_CMD, "report", "swem"], tmp_path, check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "its committed report is search/swem/summary.md" in refused.stderr
    assert "`reuters-search best swem` answers from it" in refused.stderr
    other = run([*SEARCH_CMD, "report", "swem", "--study", "nope"], tmp_path, check=False)
    assert "run `reuters-search run swem --study nope` first" in other.stderr
    assert not (tmp_path / "search/studies.db").exists()


def test_a_linear_svm_is_cross_validated_from_cached_features_as_the_stage_fits_it():
    """The SVM's folds reuse each fold's TF-IDF across settings of C (one matrix per vectorizer
    setting), and score exactly as fitting both steps afresh; the stage reports its accuracy and
    leaves its loss empty (margins are no probabilities)."""
    from model_search.cross_validation import cross_validate, folds
    from reuters_rnn.fit.baselines import Baseline
    from reuters_rnn.fit.entry import Memo
    from reuters_rnn.schema.specs import TfidfSvmSpec
    from stages.baseline import run_baseline

    params = parse_params(tiny_with_tfidf())
    arrays = tiny_arrays()
    x, labels = arrays["x_train"], arrays["labels_train"]
    memo = Memo()
    for C in (0.1, 10.0):
        spec = TfidfSvmSpec(kind="tfidf_svm", C=C, ngram_max=2)
        result = cross_validate(Baseline(params, "svm", spec), x, labels, 4, memo=memo)
        by_fold = [
            float((fit_predict(spec, x[t], labels[t], x[h])[0].argmax(axis=1) == labels[h]).mean())
            for t, h in folds(len(x), 4)
        ]
        assert result.accuracies == by_fold and min(by_fold) > 0.5
    assert len(memo.kept["features"]) == 4  # 4 folds x 1 vectorizer setting, two C's
    assert len(memo.kept["fit"]) == 8  # each C's 4 folds
    scores, fit = run_baseline(Baseline(params, "svm", spec), arrays)
    probabilities = fit.probabilities
    assert fit.weights > 0 and fit.seconds > 0
    assert scores["loss"] is None and 0.5 < scores["accuracy"] <= 1
    expected, _ = fit_predict(spec, x, labels, arrays["x_test"])
    assert (probabilities == expected).all() and len(probabilities) == len(arrays["x_test"])


def test_successive_halving_prunes_after_the_first_fits_and_the_budget_counts_complete_trials():
    """Each fit reports the running mean to the pruner; successive halving stops the trials that
    fall behind after their first fit, and the budget (MaxTrialsCallback on complete and running
    trials) is reached by complete trials only: pruned ones come on top."""
    from model_search.study import pruner_for, sampler_for, stop_at

    params = parse_params(tiny_with_tfidf())
    space = {**TFIDF_SPACE, "pruner": "successive_halving", "trials": 4}
    space["keys"] = {"C": {"low": 0.0001, "high": 100.0, "log": True}}  # weak to strong
    search = SearchFile.model_validate({**SEARCH, "folds": 4, "spaces": {"tfidf": space}})
    space = search.spaces["tfidf"]
    assert isinstance(pruner_for(space, search), optuna.pruners.SuccessiveHalvingPruner)
    assert sampler_for(space, 0)._constant_liar
    arrays = tiny_arrays()
    study = optuna.create_study(
        direction="maximize", sampler=sampler_for(space, 0), pruner=pruner_for(space, search)
    )
    for C in (100.0, 0.0001):  # the toy task is learnt at C = 100, not at 0.0001
        study.enqueue_trial({"C": C})
    objective = objective_for(params, search, space, arrays["x_train"], arrays["labels_train"])
    study.optimize(objective, n_trials=40, callbacks=[stop_at(4)])
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) == 4
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert study.trials[1].state == optuna.trial.TrialState.PRUNED, study.trials[1]
    assert all(t.user_attrs["pruned_at"].startswith("fit ") for t in pruned)
    assert all(max(t.intermediate_values) < 4 for t in pruned)  # stopped before its last fit
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert all(sorted(t.intermediate_values) == [1, 2, 3, 4] for t in complete)
    # The report shows the pruned trials, each with where it stopped.
    from model_search.results import trials_table
    from model_search.summary import summary_markdown

    table = trials_table(study.trials, ["C"]).assign(vs_current=np.nan, p=np.nan)
    text = summary_markdown("tfidf", "tfidf_logreg", table, {}, "")
    assert f"(pruned after {pruned[0].user_attrs['pruned_at']})" in text
    assert pruned[0].user_attrs["pruned_at"].startswith("fit 1 of 4: ")


def test_a_study_goes_on_under_a_new_budget_or_pruner_but_not_under_a_new_range(tmp_path):
    from model_search.study import open_storage, open_study

    search = SearchFile.model_validate({**SEARCH, "spaces": {"tfidf": TFIDF_SPACE}})
    storage = open_storage(f"sqlite:///{tmp_path}/studies.db", search)
    identity = {"space": dict(TFIDF_SPACE), "folds": 2, "data": "ab12"}
    open_study(storage, "tfidf", search, search.spaces["tfidf"], identity)
    more = {**identity, "space": {**TFIDF_SPACE, "trials": 30, "pruner": "successive_halving"}}
    study = open_study(storage, "tfidf", search, search.spaces["tfidf"], more)
    assert study.user_attrs["identity"]["space"]["trials"] == 30  # recorded as it now runs
    wider = {**identity, "space": {**TFIDF_SPACE, "keys": {"C": {"low": 0.1, "high": 1e4}}}}
    with pytest.raises(SearchError, match="scored with other settings"):
        open_study(storage, "tfidf", search, search.spaces["tfidf"], wider)
