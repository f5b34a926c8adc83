"""prepare: Keras's shuffle/filter/split reproduced exactly, padding, facts, and bad data."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from reuters_rnn.data.dataset import DataError, sha256_of
from reuters_rnn.data.preparing import (
    conflicting_test,
    facts,
    pad,
    prepare,
    read_raw,
    split_like_keras,
)
from reuters_rnn.schema.sections import DataParams
from tests.tiny_project import REAL_NPZ, needs_real_data, write_synthetic_npz


def raw(path):
    """read_raw with the file's own hash as the expected one (the hash check is tested apart)."""
    return read_raw(path, sha256_of(path))


def data_params(**changes) -> DataParams:
    values = dict(
        url="https://x/reuters.npz",
        sha256="0" * 64,
        num_words=300,
        maxlen=30,
        test_split=0.3,
        seed=113,
        padding="post",
    )
    return DataParams(**{**values, **changes})


def test_padding_is_post_with_zeros_and_one_float_feature():
    padded = pad([[1, 5, 7], [1, 2]], data_params(maxlen=5))
    assert padded.shape == (2, 4, 1) and padded.dtype == np.float32
    assert padded[..., 0].tolist() == [[1, 5, 7, 0], [1, 2, 0, 0]]
    assert pad([[1, 2]], data_params(maxlen=5, padding="pre"))[..., 0].tolist() == [[0, 0, 1, 2]]


def test_pad_to_pads_or_truncates_on_the_side_asked():
    seqs = [[1, 5, 7, 9], [1, 2]]
    kept_start = pad(seqs, data_params(maxlen=None, pad_to=3, truncating="post"))[..., 0]
    assert kept_start.tolist() == [[1, 5, 7], [1, 2, 0]]
    kept_end = pad(seqs, data_params(maxlen=None, pad_to=3, truncating="pre"))[..., 0]
    assert kept_end.tolist() == [[5, 7, 9], [1, 2, 0]]


def test_maxlen_null_keeps_every_newswire(tmp_path):
    write_synthetic_npz(tmp_path / "r.npz")  # 300 newswires of 3 to 40 words
    arrays = prepare(*raw(tmp_path / "r.npz"), data_params(maxlen=None, pad_to=20))
    assert len(arrays["labels_train"]) + len(arrays["labels_test"]) == 300
    assert arrays["x_train"].shape[1:] == (20, 1)


def test_train_and_test_share_one_length_and_labels_are_one_hot(tmp_path):
    write_synthetic_npz(tmp_path / "r.npz")
    arrays = prepare(*raw(tmp_path / "r.npz"), data_params())
    assert arrays["x_train"].shape[1:] == arrays["x_test"].shape[1:] == (29, 1)
    assert arrays["y_train"].shape[1] == 46
    assert (arrays["y_train"].argmax(1) == arrays["labels_train"]).all()
    assert arrays["x_train"].max() < 300  # num_words: rarer ids became the OOV id 2


def test_a_test_newswire_whose_text_training_holds_under_another_label_is_named():
    """The noise floor: a test text that the training split holds under another label (after
    Keras's shuffle and filter; every word kept, so rare words still tell texts apart)."""
    xs = [[10 + i, 11 + i] for i in range(60)]
    labels = np.array([i % 3 for i in range(60)])
    for i in range(0, 60, 4):  # 15 duplicates of wire 0's text, under labels 0, 1, 2
        xs[i] = [10, 11]
    xs[1], xs[2] = [7, 900], [7, 901]  # differ only in words beyond num_words: not identical
    data = data_params(maxlen=None, test_split=0.3, num_words=100)
    found = conflicting_test(xs, labels, data)
    every_word = data.model_copy(update={"num_words": 10**9})
    train, train_labels, x_test, l_test = split_like_keras(xs, labels, every_word)
    expected = [
        i
        for i, (text, label) in enumerate(zip(x_test, l_test, strict=True))
        if any(t == text and tl != label for t, tl in zip(train, train_labels, strict=True))
    ]
    assert found == expected and len(found) >= 2


def test_facts_count_classes_and_majority_accuracy(tmp_path):
    write_synthetic_npz(tmp_path / "r.npz")
    arrays = prepare(*raw(tmp_path / "r.npz"), data_params())
    summary = facts(arrays, [3, 5])
    assert summary["test_conflicting"] == 2 and summary["test_conflicting_newswires"] == [3, 5]
    majority = summary["majority_class"]
    assert summary["majority_class_test_accuracy"] == round(
        float(np.mean(arrays["labels_test"] == majority)), 4
    )
    assert (
        sum(summary["test_class_counts"].values())
        == summary["test_sequences"]
        == len(arrays["labels_test"])
    )


def keras_load_data(keras_home, data: DataParams, synthetic: bool = False) -> dict[str, list]:
    """keras.datasets.reuters.load_data run in a fresh process (Keras reads KERAS_HOME at import).

    load_data checks the real file's sha256; for a synthetic file the test hands it the path.
    """
    cached = keras_home / "datasets" / "reuters.npz"
    code = (
        "import json, sys, keras\n"
        + (
            f"import keras.src.datasets.reuters as r; r.get_file = lambda **kw: {str(cached)!r}\n"
            if synthetic
            else ""
        )
        + f"(a, b), (c, d) = keras.datasets.reuters.load_data(num_words={data.num_words}, "
        f"maxlen={data.maxlen}, test_split={data.test_split}, seed={data.seed})\n"
        "json.dump({'x_train': [list(map(int, s)) for s in a], 'y_train': b.tolist(),"
        " 'x_test': [list(map(int, s)) for s in c], 'y_test': d.tolist()}, sys.stdout)\n"
    )
    # load_data is NumPy alone: the backend the data stages use (reuters_rnn.plumbing.backend's
    # use_data_backend), which loads no tensor library where jax is installed.
    backend = "numpy" if importlib.util.find_spec("jax") else "tensorflow"
    env = {**os.environ, "KERAS_HOME": str(keras_home), "KERAS_BACKEND": backend}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(result.stdout)


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_split_matches_keras_on_synthetic_data(keras_home):
    write_synthetic_npz(keras_home / "datasets" / "reuters.npz")
    params = data_params()
    keras_split = keras_load_data(keras_home, params, synthetic=True)
    x_train, y_train, x_test, y_test = split_like_keras(
        *raw(keras_home / "datasets" / "reuters.npz"), params
    )
    assert keras_split["x_train"] == x_train and keras_split["x_test"] == x_test
    assert keras_split["y_train"] == y_train.tolist() and keras_split["y_test"] == y_test.tolist()


@needs_real_data
@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_real_data_equals_keras_load_data_element_for_element(keras_home):
    """The real file, read by Keras from its cache and by us: identical sequences and labels."""
    shutil.copy(REAL_NPZ, keras_home / "datasets" / "reuters.npz")
    real = data_params(num_words=30000, maxlen=50, test_split=0.3, seed=113)
    keras_split = keras_load_data(keras_home, real)
    x_train, y_train, x_test, y_test = split_like_keras(*raw(REAL_NPZ), real)
    assert keras_split["x_train"] == x_train and keras_split["x_test"] == x_test
    assert keras_split["y_train"] == y_train.tolist() and keras_split["y_test"] == y_test.tolist()
    assert len(x_train) == 1395 and len(x_test) == 599

    arrays = prepare(*raw(REAL_NPZ), real)
    assert arrays["x_train"].shape == (1395, 49, 1) and arrays["x_test"].shape == (599, 49, 1)
    assert arrays["y_train"].shape == (1395, 46) and arrays["y_test"].shape == (599, 46)
    assert arrays["x_train"].dtype == np.float32
    assert arrays["x_test"][..., 0].tolist() == [
        s + [0] * (49 - len(s)) for s in keras_split["x_test"]
    ]
    assert set(y_train.tolist()) | set(y_test.tolist()) <= set(range(46))
    assert facts(arrays, [])["majority_class_test_accuracy"] == pytest.approx(0.7479, abs=1e-4)


def _npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _ragged(*seqs):
    x = np.empty(len(seqs), dtype=object)
    x[:] = [list(s) for s in seqs]
    return x


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.write_bytes(b"PK\x03\x04 truncated"), "not a readable npz file"),
        (lambda p: p.write_text("hello"), "not a readable npz file"),
        (lambda p: _npz(p, x=_ragged([1, 2])), "missing array(s) ['y']"),
        (
            lambda p: _npz(p, x=_ragged([1, 2], [3]), y=np.array([0, 46])),
            "labels must lie in 0..45",
        ),
        (
            lambda p: _npz(p, x=_ragged([1, 2], [3]), y=np.array([0, -1])),
            "labels must lie in 0..45",
        ),
        (
            lambda p: _npz(p, x=_ragged([1, 2], []), y=np.array([0, 1])),
            "sequence 1 is '[]'; every newswire must be a non-empty list",
        ),
        (
            lambda p: _npz(p, x=_ragged([1, 2], ["a", None]), y=np.array([0, 1])),
            "sequence 1 is \"['a', None]\"",
        ),
        (
            lambda p: _npz(p, x=np.array([{"a": 1}, [1]], dtype=object), y=np.array([0, 1])),
            "sequence 0 is \"{'a': 1}\"",
        ),
        (lambda p: _npz(p, x=_ragged([1, 2], [3]), y=np.array([0])), "as many labels as sequences"),
    ],
)
def test_bad_raw_files_name_the_file_the_problem_and_the_fix(tmp_path, make, expected):
    path = tmp_path / "reuters.npz"
    make(path)
    with pytest.raises(DataError) as info:
        raw(path)
    assert expected in str(info.value) and str(path) in str(info.value)
    assert "dvc repro fetch" in str(info.value)


def test_truncated_real_format_file_is_refused(tmp_path):
    path = tmp_path / "reuters.npz"
    write_synthetic_npz(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match="not a readable npz"):
        raw(path)
    assert zipfile.is_zipfile(path) is False


def test_a_maxlen_that_keeps_no_sequence_is_refused(tmp_path):
    write_synthetic_npz(tmp_path / "r.npz", n=40)
    with pytest.raises(DataError, match="leave 0 training and 0 test sequences"):
        prepare(*raw(tmp_path / "r.npz"), data_params(maxlen=2))


def test_a_single_class_test_set_is_refused(tmp_path):
    path = _npz(tmp_path / "r.npz", x=_ragged(*[[1, 2, 3]] * 20), y=np.array([1] * 10 + [3] * 10))
    with pytest.raises(DataError, match="single class"):
        prepare(*raw(path), data_params(test_split=0.05))


class Payload:
    """Unpickling this writes a marker file: proof that a pickle ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_file_with_another_hash_is_refused_before_anything_is_unpickled(tmp_path):
    marker = tmp_path / "payload-ran"
    x = np.empty(2, dtype=object)
    x[:] = [[1, 2], Payload(marker)]
    path = _npz(tmp_path / "reuters.npz", x=x, y=np.array([0, 1]))
    genuine = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
    with pytest.raises(DataError) as info:
        read_raw(path, genuine)
    message = str(info.value)
    assert f"expected {genuine}" in message and sha256_of(path) in message
    assert not marker.exists()  # nothing was unpickled
    np.load(path, allow_pickle=True)["x"]  # the payload is real: loading it does run
    assert marker.exists()
