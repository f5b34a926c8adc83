"""Keras's Reuters file -> the arrays the models need: its sha256 checked before anything is
unpickled, then shuffled, filtered and split exactly as keras.datasets.reuters.load_data does,
padded (or truncated) to one length, with the dataset's facts and its noise floor (test
newswires whose text the training split holds under another label). The prepare stage's work.
"""

from __future__ import annotations

import pickle
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

from reuters_rnn.data.dataset import NUM_CLASSES, DataError, sha256_of
from reuters_rnn.plumbing.backend import import_keras
from reuters_rnn.schema.sections import DataParams

# keras.datasets.reuters.load_data defaults: 1 marks a sequence start, 2 an out-of-vocabulary
# word, and real word ids are shifted up by 3 so that 0 stays free for padding.
START_CHAR, OOV_CHAR, INDEX_FROM = 1, 2, 3
FIX = "Delete it and run `dvc repro fetch` (see docs/pipeline.md: the Keras cache)."


def read_raw(path: str | Path, sha256: str) -> tuple[list[list[int]], np.ndarray]:
    """The `x` (word-id lists) and `y` (labels) of a Keras Reuters npz, after its sha256 matches."""
    found = sha256_of(path)
    if found != sha256:
        raise DataError(
            f"{path}: sha256 {found}, expected {sha256} (data.sha256 in params.yaml); it is not "
            f"the file fetch verified, so nothing in it was loaded. {FIX}"
        )
    try:
        with np.load(path, allow_pickle=True) as f:  # ragged lists are pickled objects
            missing = {"x", "y"} - set(f.files)
            if missing:
                raise DataError(
                    f"{path}: missing array(s) {sorted(missing)}; expected 'x' (word-id lists) "
                    f"and 'y' (topic labels), found {sorted(f.files)}. {FIX}"
                )
            xs, labels = f["x"], f["y"]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, pickle.UnpicklingError) as exc:
        raise DataError(f"{path}: not a readable npz file ({exc}). {FIX}") from exc
    return check_sequences(path, xs), check_labels(path, xs, labels)


def check_sequences(path: str | Path, xs: np.ndarray) -> list[list[int]]:
    """Every element a non-empty list of non-negative integer word ids, or a DataError."""
    sequences = []
    for i, seq in enumerate(xs):
        try:
            ids = np.asarray(seq)
            ok = ids.ndim == 1 and ids.size > 0 and np.issubdtype(ids.dtype, np.integer)
        except (TypeError, ValueError):
            ok = False
        if not ok or ids.min() < 0:
            raise DataError(
                f"{path}: sequence {i} is {str(seq)[:60]!r}; every newswire must be a non-empty "
                f"list of non-negative integer word ids. {FIX}"
            )
        sequences.append(ids.tolist())
    return sequences


def check_labels(path: str | Path, xs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    if len(xs) != len(labels) or len(xs) == 0:
        raise DataError(
            f"{path}: expected as many labels as sequences (> 0), found {len(xs)} sequences and {len(labels)} labels. {FIX}"
        )
    if not np.issubdtype(labels.dtype, np.integer) or labels.ndim != 1:
        raise DataError(f"{path}: labels must be integers, found dtype {labels.dtype}. {FIX}")
    bad = labels[(labels < 0) | (labels >= NUM_CLASSES)]
    if bad.size:
        raise DataError(
            f"{path}: labels must lie in 0..{NUM_CLASSES - 1}, found {bad.size} outside (e.g. {bad[0]}). {FIX}"
        )
    return labels


def split_like_keras(
    xs: list[list[int]], labels: np.ndarray, data: DataParams
) -> tuple[list[list[int]], np.ndarray, list[list[int]], np.ndarray]:
    """The shuffle/shift/filter/split of keras.datasets.reuters.load_data, on arrays in memory."""
    order = np.arange(len(xs))
    np.random.RandomState(data.seed).shuffle(order)
    seqs = [[START_CHAR] + [w + INDEX_FROM for w in xs[i]] for i in order]
    labels = labels[order]
    keep = [i for i, s in enumerate(seqs) if data.maxlen is None or len(s) < data.maxlen]
    seqs, labels = [seqs[i] for i in keep], labels[keep]
    seqs = [[w if w < data.num_words else OOV_CHAR for w in s] for s in seqs]
    cut = int(len(seqs) * (1 - data.test_split))
    return seqs[:cut], labels[:cut], seqs[cut:], labels[cut:]


def pad(seqs: list[list[int]], data: DataParams) -> np.ndarray:
    """Pad/truncate to (n, length, 1) float32: one float feature (the word id) per step."""
    padded = import_keras().utils.pad_sequences(
        seqs, maxlen=data.length(), padding=data.padding, truncating=data.truncating, value=0
    )
    return padded.astype("float32")[..., np.newaxis]


def prepare(xs: list[list[int]], labels: np.ndarray, data: DataParams) -> dict[str, np.ndarray]:
    """Everything the models need: padded inputs, one-hot and integer labels."""
    x_train, l_train, x_test, l_test = split_like_keras(xs, labels, data)
    if len(x_train) == 0 or len(x_test) == 0:
        raise DataError(
            f"maxlen={data.maxlen} and test_split={data.test_split} leave {len(x_train)} training "
            f"and {len(x_test)} test sequences; raise data.maxlen or move data.test_split toward 0.5."
        )
    if len(set(l_test.tolist())) < 2:
        raise DataError(
            f"the test split holds a single class ({l_test[0]}), so accuracy would measure nothing; "
            f"raise data.maxlen or data.test_split."
        )
    eye = np.eye(NUM_CLASSES, dtype="float32")
    return {
        "x_train": pad(x_train, data),
        "x_test": pad(x_test, data),
        "y_train": eye[l_train],
        "y_test": eye[l_test],
        "labels_train": l_train.astype("int64"),
        "labels_test": l_test.astype("int64"),
    }


def conflicting_test(xs: list[list[int]], labels: np.ndarray, data: DataParams) -> list[int]:
    """The test newswires (their index in the test split) whose exact text, every word kept, is
    in the training split under another label: Keras's file keeps a multi-topic wire's first
    topic, and a wire without a body takes the next wire's, so no model can get all of them
    right. The report gives accuracy without them beside accuracy on all."""
    every_word = data.model_copy(update={"num_words": 1 << 62})
    x_train, l_train, x_test, l_test = split_like_keras(xs, labels, every_word)
    seen: dict[tuple[int, ...], set[int]] = {}
    for text, label in zip(x_train, l_train.tolist(), strict=True):
        seen.setdefault(tuple(text), set()).add(label)
    return [
        i
        for i, (text, label) in enumerate(zip(x_test, l_test.tolist(), strict=True))
        if seen.get(tuple(text), {label}) - {label}
    ]


def facts(arrays: dict[str, np.ndarray], conflicting: list[int]) -> dict:
    """Counts, the majority-class reference accuracy (most frequent training label) and the
    test newswires whose text the training split holds under another label."""
    l_train, l_test = arrays["labels_train"], arrays["labels_test"]
    majority = Counter(l_train.tolist()).most_common(1)[0][0]
    return {
        "train_sequences": int(len(l_train)),
        "test_sequences": int(len(l_test)),
        "sequence_length": int(arrays["x_train"].shape[1]),
        "num_classes": NUM_CLASSES,
        "classes_in_train": int(len(set(l_train.tolist()))),
        "classes_in_test": int(len(set(l_test.tolist()))),
        "majority_class": int(majority),
        "majority_class_test_accuracy": round(float(np.mean(l_test == majority)), 4),
        "test_conflicting": len(conflicting),
        "test_conflicting_newswires": conflicting,
        "train_class_counts": {str(k): v for k, v in sorted(Counter(l_train.tolist()).items())},
        "test_class_counts": {str(k): v for k, v in sorted(Counter(l_test.tolist()).items())},
        "topics": list(import_keras().datasets.reuters.get_label_names()),
    }
