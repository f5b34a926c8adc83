"""The prepared-data contract: the manifest catches a changed array; the validation hold-out."""

from __future__ import annotations

import numpy as np
import pytest

from reuters_rnn.data.dataset import ARRAYS, DataError, holdout, load_prepared, write_prepared


def arrays(n: int = 10) -> dict[str, np.ndarray]:
    labels = np.arange(n) % 3
    return {
        "x_train": np.arange(n * 4, dtype="float32").reshape(n, 4, 1),
        "x_test": np.zeros((4, 4, 1), "float32"),
        "y_train": np.eye(46, dtype="float32")[labels],
        "y_test": np.eye(46, dtype="float32")[[0, 1, 2, 0]],
        "labels_train": labels,
        "labels_test": np.array([0, 1, 2, 0]),
    }


def test_written_arrays_load_back_unchanged(tmp_path):
    write_prepared(tmp_path, arrays())
    loaded = load_prepared(tmp_path)
    assert set(loaded) == set(ARRAYS)
    assert (loaded["x_train"] == arrays()["x_train"]).all()


def test_a_changed_array_is_refused_by_name_with_the_fix(tmp_path):
    write_prepared(tmp_path, arrays())
    changed = arrays()["labels_test"]
    changed[:] = 0
    np.save(tmp_path / "labels_test.npy", changed)
    with pytest.raises(DataError) as info:
        load_prepared(tmp_path)
    message = str(info.value)
    assert "labels_test.npy" in message and "does not match" in message
    assert "`dvc repro -f prepare`" in message and "`dvc checkout --force data/prepared`" in message


def test_a_missing_manifest_is_refused(tmp_path):
    write_prepared(tmp_path, arrays())
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(DataError, match="manifest.json: missing"):
        load_prepared(tmp_path)


def test_validation_holdout_is_the_last_part_of_train_and_never_the_test_split():
    selected = holdout(arrays(10), 0.2)
    assert selected["labels_train"].tolist() == arrays(10)["labels_train"][:8].tolist()
    assert selected["x_test"].tolist() == arrays(10)["x_train"][8:].tolist()
    assert holdout(arrays(10), 0.0)["x_test"].shape == (4, 4, 1)  # 0: the published split
    with pytest.raises(DataError, match="empty"):
        holdout(arrays(2), 0.1)
