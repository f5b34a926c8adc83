"""params.yaml validation: one error naming every bad key, before any work."""

from __future__ import annotations

import copy
import os
import re

import pytest
import yaml

from reuters_rnn.schema.params import load_params, parse_params
from reuters_rnn.schema.params_file import ParamsError
from reuters_rnn.schema.specs import BASELINE_KINDS
from tests.tiny_project import PROJECT

DEFAULT = yaml.safe_load((PROJECT / "params.yaml").read_text())


def errors_for(edit) -> str:
    raw = copy.deepcopy(DEFAULT)
    edit(raw)
    with pytest.raises(ParamsError) as info:
        parse_params(raw)
    return str(info.value)


def set_key(params: dict, key: str, value) -> None:
    """params["a"]["b"]["c"] = value for key "a.b.c"."""
    *path, last = key.split(".")
    for part in path:
        params = params[part]
    params[last] = value


def test_project_params_are_valid_and_typed():
    params = load_params(PROJECT / "params.yaml")
    assert params.data.num_words == 30000 and params.data.maxlen == 50
    assert params.data.test_split == 0.3 and params.data.seed == 113
    assert params.train.epochs == 200 and params.train.batch_size == 50
    assert params.models["stacked_lstm"].units == (50, 50)
    assert params.models["swem"].kind == "pooled_embedding"
    assert params.models["swem"].pooling == ("mean", "max")
    assert params.models["lstm"].label_smoothing == 0.0  # the published one-hot targets
    assert set(params.report.published) == {
        "vanilla_rnn",
        "stacked_vanilla_rnn",
        "lstm",
        "stacked_lstm",
    }
    with pytest.raises(Exception, match="frozen"):
        params.train.epochs = 3  # the stages get read-only values
    assert params.data.length() == 49 and params.train.early_stopping is None  # as published
    assert params.train.length_buckets == ()


def test_the_whole_set_params_keep_every_newswire_and_stop_early():
    params = load_params(PROJECT / "whole_set" / "params.yaml")
    assert params.data.maxlen is None and params.data.test_split == 0.2
    assert params.data.length() == params.data.pad_to
    assert params.train.early_stopping.patience >= 1
    assert list(params.train.length_buckets) == sorted(params.train.length_buckets)
    root = load_params(PROJECT / "params.yaml")
    assert list(params.models) == list(root.models)  # the same models, compared across sets


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda p: p["train"].update(epohcs=p["train"].pop("epochs")),
            "train.epohcs: unknown key (did you mean 'epochs'?)",
        ),
        (lambda p: p["train"].pop("batch_size"), "train.batch_size: missing (required)"),
        (
            lambda p: p["train"].update(epochs="200"),
            "train.epochs: '200' is not allowed (input should be a valid integer)",
        ),
        (
            lambda p: p["train"].update(epochs=0),
            "train.epochs: 0 is not allowed (input should be greater than or equal to 1)",
        ),
        (lambda p: p["train"].update(batch_size=0), "train.batch_size: 0 is not allowed"),
        (
            lambda p: p["train"].update(learning_rate=0),
            "train.learning_rate: 0 is not allowed (input should be greater than 0)",
        ),
        (lambda p: p["train"].update(seeds=[]), "train.seeds: [] is not allowed"),
        (
            lambda p: p["train"].update(backend="torch"),
            "train.backend: 'torch' is not allowed (input should be 'tensorflow' or 'jax')",
        ),
        (lambda p: p["data"].update(test_split=1.0), "data.test_split: 1.0 is not allowed"),
        (lambda p: p["data"].update(test_split=0), "data.test_split: 0 is not allowed"),
        (
            lambda p: p["data"].update(maxlen=1),
            "data.maxlen: 1 is not allowed (input should be greater than or equal to 2)",
        ),
        (lambda p: p["data"].update(num_words=3), "data.num_words: 3 is not allowed"),
        (lambda p: p["data"].update(sha256="abc"), "data.sha256: 'abc' is not allowed"),
        (
            lambda p: p["models"]["lstm"].update(cell="lstn"),
            "models.lstm.cell: 'lstn' is not allowed (input should be 'simple_rnn', 'lstm' or 'gru')",
        ),
        (lambda p: p["models"]["lstm"].update(units=[]), "models.lstm.units: [] is not allowed"),
        (
            lambda p: p["models"]["lstm"].update(units=[50, 0]),
            "models.lstm.units.1: 0 is not allowed",
        ),
        (
            lambda p: p["models"]["lstm"].update(units=[-5]),
            "models.lstm.units.0: -5 is not allowed",
        ),
        (
            lambda p: p["models"].update({"my-lstm": {"cell": "lstm", "units": [8]}}),
            "models.my-lstm: name not usable as a DVC stage key",
        ),
        (
            lambda p: p["models"].update({"Big LSTM": {"cell": "lstm", "units": [8]}}),
            "models.Big LSTM: name not usable",
        ),
        (lambda p: p.update(trian={}), "trian: unknown key (did you mean 'train'?)"),
        (lambda p: p.pop("data"), "data: missing (required)"),
        (
            lambda p: p["train"].update(resum=False),
            "train.resum: unknown key (did you mean 'resume'?)",
        ),
        (lambda p: p["train"].update(seeds=[1, 1]), "train.seeds: seeds must be distinct"),
        (
            lambda p: p["train"].update(validation_split=1),
            "train.validation_split: 1 is not allowed",
        ),
        (
            lambda p: p["models"].update(x={"kind": "transformer"}),
            "models.x: kind 'transformer' is not allowed (kind must be one of recurrent | "
            "pooled_embedding)",
        ),
        (
            lambda p: p["models"]["swem"].update(embeding_dim=3),
            "models.swem.embeding_dim: unknown key (did you mean 'embedding_dim'?)",
        ),
        (
            lambda p: p["models"]["swem"].update(pooling=["mean", "min"]),
            "models.swem.pooling.1: 'min' is not allowed (input should be 'mean' or 'max')",
        ),
        (
            lambda p: p["models"]["swem"].update(pooling=["max", "max"]),
            "models.swem.pooling: pooling lists each of mean, max at most once",
        ),
        (
            lambda p: p["models"]["lstm"].update(label_smoothing=1),
            "models.lstm.label_smoothing: 1 is not allowed (input should be less than 1)",
        ),
        (
            lambda p: p["baselines"].update(svm={"kind": "svm"}),
            "baselines.svm: kind 'svm' is not allowed (kind must be one of majority | tfidf_logreg | tfidf_svm)",
        ),
        (
            lambda p: p["baselines"]["tfidf_logreg"].update(CC=1),
            "baselines.tfidf_logreg.CC: unknown key (did you mean 'C'?)",
        ),
        (
            lambda p: p["baselines"]["tfidf_logreg"].update(min_df=0),
            "baselines.tfidf_logreg.min_df: 0 is not allowed (input should be greater than or equal to 1)",
        ),
        (
            lambda p: p["baselines"]["tfidf_logreg"].update(sublinear_tf="yes"),
            "baselines.tfidf_logreg.sublinear_tf: 'yes' is not allowed (input should be a valid boolean)",
        ),
        (
            lambda p: p["models"]["swem"].update(conv_width=0),
            "models.swem.conv_width: 0 is not allowed (input should be greater than or equal to 1)",
        ),
        (
            lambda p: p["report"].update(comparisons=[["lstm", "gru9"]]),
            "report.comparisons: ['lstm', 'gru9'] must be a pair",
        ),
        (
            lambda p: p["data"].update(maxlen=None),
            "data.maxlen: null keeps every newswire, so data.pad_to must say the length",
        ),
        (
            lambda p: p["data"].update(pad_to=50),
            "data.pad_to 50 is no shorter than data.maxlen 50",
        ),
        (
            lambda p: p["data"].update(truncating="middle"),
            "data.truncating: 'middle' is not allowed (input should be 'pre' or 'post')",
        ),
        (
            lambda p: p["train"].update(length_buckets=[32, 16]),
            "train.length_buckets: [32, 16] must be increasing lengths below the padded length 49",
        ),
        (
            lambda p: p["train"].update(length_buckets=[16, 49]),
            "train.length_buckets: [16, 49] must be increasing lengths below the padded length 49",
        ),
        (
            lambda p: p["train"].update(early_stopping={"validation_fraction": 1, "patience": 5}),
            "train.early_stopping.validation_fraction: 1 is not allowed",
        ),
        (
            lambda p: p["train"].update(early_stopping={"validation_fraction": 0.1}),
            "train.early_stopping.patience: missing (required)",
        ),
        (
            lambda p: p["baselines"].update(lstm={"kind": "majority"}),
            "baselines: lstm also name(s) a model",
        ),
        (
            lambda p: p["ensembles"].update(tfidf_svm={"members": ["swem", "lstm"]}),
            "ensembles: tfidf_svm also name(s) a model or baseline",
        ),
        (
            lambda p: p["ensembles"].update(both={"members": ["swem", "tfidf_svm"]}),
            "ensembles.both.members: tfidf_svm is no model or baseline with probabilities",
        ),
        (
            lambda p: p["ensembles"].update(both={"members": ["swem", "lstn"]}),
            "ensembles.both.members: lstn is no model or baseline with probabilities; choose "
            "from embedding_lstm, lstm, majority, stacked_lstm",
        ),
        (
            lambda p: p["ensembles"].update(both={"members": ["swem", "swem"]}),
            "ensembles.both.members: members must be distinct",
        ),
        (
            lambda p: p["ensembles"].update(both={"members": ["majority", "tfidf_logreg"]}),
            "ensembles.both.members: name at least one model",
        ),
        (
            lambda p: p["ensembles"].update(both={"members": ["lstm"]}),
            "ensembles.both: one member with seeds: each is that model itself; add a member, or "
            "set seeds: pooled",
        ),
        (
            lambda p: p["ensembles"].update(both={"members": ["lstm"], "seeds": "all"}),
            "ensembles.both.seeds: 'all' is not allowed",
        ),
        (
            lambda p: p["report"].update(comparisons=[["swem", "swem_tfidf"], ["swem", "both"]]),
            "report.comparisons: ['swem', 'both'] must be a pair [model_a, model_b] of names under "
            "models or ensembles",
        ),
        (
            lambda p: p["train"].update(seeds=[4294967296]),
            "train.seeds.0: 4294967296 is not allowed (input should be less than or equal to "
            "4294967295)",
        ),
        (
            lambda p: p["train"].update(validation_split=0.999),
            "train.validation_split: 0.999 is not allowed (input should be less than or equal "
            "to 0.5)",
        ),
        (
            lambda p: p["ensembles"]["swem_seeds"].update(memberz=["swem"]),
            "ensembles.swem_seeds.memberz: unknown key (did you mean 'members'?)",
        ),
        (
            lambda p: p["ensembles"]["swem_seeds"].update(weights=[1]),
            "ensembles.swem_seeds.weights: unknown key (allowed keys: members, seeds)",
        ),
        (
            lambda p: p["train"].update(early_stopping={"patience": 2, "fraction": 0.1}),
            "train.early_stopping.fraction: unknown key (allowed keys: validation_fraction, "
            "patience)",
        ),
        (
            lambda p: p["report"].update(comparisons=[["swem", "swem"]]),
            "report.comparisons: ['swem', 'swem'] compares swem with itself",
        ),
        (
            lambda p: p["report"].update(published={"lstn": 0.8}),
            "report.published: lstn is no model under models",
        ),
        (
            lambda p: p.pop("ensembles"),
            "ensembles: missing (required: `ensembles: {}` for none; dvc.yaml reads it)",
        ),
        (
            lambda p: p.pop("baselines"),
            "baselines: missing (required: `baselines: {}` for none; dvc.yaml reads it)",
        ),
    ],
)
def test_each_bad_key_is_named_with_its_allowed_range(edit, expected):
    assert expected in errors_for(edit)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("train.learning_rate", float("inf")),
        ("train.learning_rate", float("nan")),
        ("models.lstm.learning_rate", float("inf")),
        ("models.lstm.label_smoothing", float("nan")),
        ("data.test_split", float("nan")),
        ("report.confidence", float("inf")),
        ("baselines.tfidf_logreg.C", float("inf")),
    ],
)
def test_non_finite_numbers_are_refused_everywhere(key, value):
    message = errors_for(lambda params: set_key(params, key, value))
    assert f"{key}: {value!r} is not allowed (input should be a finite number)" in message


@pytest.mark.parametrize(
    ("key", "value", "bound"),
    [
        ("train.epochs", 100_000_000, "less than or equal to 10000"),
        ("train.batch_size", 10**7, "less than or equal to 100000"),
        ("train.learning_rate", 1000.0, "less than or equal to 1"),
        ("models.lstm.learning_rate", 1e30, "less than or equal to 1"),
        ("models.lstm.units", [50, 100_000], "less than or equal to 4096"),
        ("models.swem.embedding_dim", 65_536, "less than or equal to 4096"),
        ("models.swem.epochs", 20_000, "less than or equal to 10000"),
    ],
)
def test_absurd_values_are_refused_with_their_bound(key, value, bound):
    message = errors_for(lambda params: set_key(params, key, value))
    assert key in message and bound in message, message


def test_all_problems_are_reported_at_once():
    def many(p):
        p["train"]["epochs"] = 0
        p["data"]["maxlen"] = 1
        p["models"]["lstm"]["cell"] = "lstn"

    message = errors_for(many)
    assert "3 problem(s)" in message
    assert "train.epochs" in message and "data.maxlen" in message and "models.lstm.cell" in message
    assert message.endswith("go back to the committed file: `git checkout HEAD -- params.yaml`")


def test_invalid_yaml_and_missing_file_are_clear(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("train: [epochs: 1\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)
    with pytest.raises(ParamsError, match="absent.yaml not found.*git checkout absent.yaml"):
        load_params(tmp_path / "absent.yaml")


def test_a_bare_number_of_units_means_one_layer():
    raw = copy.deepcopy(DEFAULT)
    raw["models"]["lstm"]["units"] = 60
    assert parse_params(raw).models["lstm"].units == (60,)


def test_a_bare_pooling_means_that_one():
    raw = copy.deepcopy(DEFAULT)
    raw["models"]["swem"]["pooling"] = "max"  # as `dvc exp run -S models.swem.pooling=max` writes
    assert parse_params(raw).models["swem"].pooling == ("max",)


def test_every_baseline_kind_has_one_builder():
    from reuters_rnn.fit.baselines import BUILDERS

    assert set(BUILDERS) == set(BASELINE_KINDS.values())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "params.yaml is empty: restore it with `git checkout HEAD -- params.yaml`"),
        ("- 1\n", "params.yaml must be a mapping of sections, not list"),
        (
            "train:\n  batch_size: 5\n  batch_size: 6\n",
            "key 'batch_size' appears twice (lines 2 and 3); keep one",
        ),
    ],
)
def test_an_empty_listed_or_duplicate_keyed_file_is_one_line(tmp_path, text, expected):
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(ParamsError, match=re.escape(expected)):
        load_params(tmp_path / "params.yaml")


def test_checks_across_sections_are_reported_with_the_bad_keys():
    """`truncating: middle` is bad on its own; the buckets' check across data and train is
    reported in the same run, not after the first is fixed."""
    raw = yaml.safe_load((PROJECT / "params.yaml").read_text())
    raw["data"]["truncating"] = "middle"
    raw["train"]["length_buckets"] = [256, 64]
    with pytest.raises(ParamsError) as info:
        parse_params(raw)
    message = str(info.value)
    assert "2 problem(s)" in message and "data.truncating: 'middle' is not allowed" in message
    assert "train.length_buckets: [256, 64] must be increasing lengths" in message


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_validate_names_a_missing_params_file_in_one_line(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "stages.validate", "params.yaml", "ok"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "params.yaml not found: run from the project root, or restore it with "
        "`git checkout params.yaml`"
    )


@pytest.mark.parametrize("key", ["train.seeds", "models.lstm.units"])
def test_a_bad_list_element_is_the_one_problem_named(key):
    message = errors_for(lambda params: set_key(params, key, ["x"]))
    assert "1 problem(s)" in message and f"{key}.0: 'x' is not allowed" in message
    assert "at least 1 item" not in message


def test_yaml_merge_keys_are_read_as_yaml_merges_them(tmp_path):
    """An anchor merged into another entry (`<<: *lstm`) is the entry it names, overridden."""
    text = (PROJECT / "params.yaml").read_text()
    text = text.replace("  lstm:\n    cell: lstm", "  lstm: &lstm\n    cell: lstm")
    text = text.replace(
        "  stacked_lstm:\n    cell: lstm\n    units: [50, 50]",
        "  stacked_lstm:\n    <<: *lstm\n    units: [50, 50]",
    )
    (tmp_path / "params.yaml").write_text(text)
    params = load_params(tmp_path / "params.yaml")
    assert (
        params.models["stacked_lstm"] == load_params(PROJECT / "params.yaml").models["stacked_lstm"]
    )
    (tmp_path / "params.yaml").write_text(text + "data:\n  seed: 1\n")
    with pytest.raises(ParamsError, match="key 'data' appears twice"):
        load_params(tmp_path / "params.yaml")


def test_a_params_file_that_is_not_utf8_is_one_line(tmp_path):
    (tmp_path / "params.yaml").write_bytes(
        (PROJECT / "params.yaml").read_bytes().replace(b"# Every", b"# \xe9very")
    )
    with pytest.raises(ParamsError) as error:
        load_params(tmp_path / "params.yaml")
    assert str(error.value).startswith(f"{tmp_path}/params.yaml is not UTF-8 text (byte 0xe9 at")
    assert "save it as UTF-8, or restore it with `git checkout HEAD -- params.yaml`" in str(
        error.value
    )
