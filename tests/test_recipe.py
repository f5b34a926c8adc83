"""The one fit recipe: a fold of the search trains exactly as the train stage trains, the
compiled steps reused from fold to fold included."""

from __future__ import annotations

import numpy as np
import pytest

from model_search.cross_validation import cross_validate, folds
from reuters_rnn.fit.entry import Memo, Split
from reuters_rnn.fit.model_entry import Model
from reuters_rnn.fit.recipe import WATCHED, Recipe
from reuters_rnn.schema.params import parse_params
from tests.tiny_project import tiny_arrays, tiny_params

SWEM = {
    "kind": "pooled_embedding",
    "embedding_dim": 4,
    "pooling": ["mean", "max"],
    "word_dropout": 0.3,
    "feature_dropout": 0.2,
    "hidden": 8,
    "dropout": 0.2,
    "label_smoothing": 0.1,
    "epochs": 4,
}
BIGRU = {"cell": "gru", "units": [2], "embedding_dim": 2, "bidirectional": True, "epochs": 2}
STOPPING = {"validation_fraction": 0.25, "patience": 1}


def record_weights(fit_predict, kept: list):
    """fit_predict that also keeps a copy of each fit's weights in `kept`."""

    def recorded(*args, **kwargs):
        fit = fit_predict(*args, **kwargs)
        kept.append([np.array(w) for w in fit.net.get_weights()])
        return fit

    return recorded


def params_for(model: str, spec: dict, **train):
    raw = tiny_params("0" * 64, ())
    raw["models"] = {model: spec}
    raw["train"].update(seeds=[1, 2], **train)
    raw["report"] = {}
    return parse_params(raw)


@pytest.mark.pipeline  # trains a model: not a unit test
@pytest.mark.parametrize(
    ("model", "spec", "train"),
    [
        ("swem", SWEM, {"early_stopping": STOPPING}),
        ("bigru", BIGRU, {"length_buckets": [8, 16]}),
    ],
)
def test_a_fold_of_the_search_trains_the_weights_the_train_stage_trains(
    tmp_path, model, spec, train
):
    """The same params, data and seed give the same weights through the search's fold (its
    second seed's second fold: steps compiled for the first fit, then started over) and through
    the train stage's fit of that fold's newswires."""
    params = params_for(model, spec, **train)
    arrays = tiny_arrays()
    x, labels = arrays["x_train"], arrays["labels_train"]
    searched, memo = Model(params, model), Memo()
    kept: list[list[np.ndarray]] = []
    searched.fit_predict = record_weights(searched.fit_predict, kept)
    cross_validate(searched, x, labels, 2, memo=memo)
    train_part, held = folds(len(x), 2)[1]
    fold = Split(x[train_part], labels[train_part], x[held], labels[held])
    (tmp_path / "backup").mkdir()
    trained = Model(params, model).fit_predict(fold, 2, watch=True, backup=tmp_path / "backup")
    assert len(kept) == 4  # seed-major: (1, fold 0), (1, fold 1), (2, fold 0), (2, fold 1)
    for in_search, stage in zip(kept[3], trained.net.get_weights(), strict=True):
        np.testing.assert_array_equal(in_search, stage)
    (last_fit,) = [
        fit for (_, split, seed), fit in memo.kept["fit"].items() if split[-1] == 1 and seed == 2
    ]
    assert last_fit.probabilities.tobytes() == trained.probabilities.tobytes()
    assert not np.array_equal(kept[2][0], kept[3][0])  # another fold, other weights


@pytest.mark.pipeline  # trains a model: not a unit test
def test_the_recipe_watches_the_last_part_under_early_stopping_and_buckets_recurrent_models():
    arrays = tiny_arrays()
    stopped = Recipe.of(params_for("swem", SWEM, early_stopping=STOPPING), "swem")
    data, watched = stopped.watched(arrays)
    assert watched == WATCHED and len(data["x_train"]) == 120 and len(data["x_test"]) == 40
    assert np.array_equal(data["x_test"], arrays["x_train"][120:])
    plain = Recipe.of(params_for("swem", SWEM), "swem")
    assert plain.watched(arrays) == (arrays, "test") and plain.buckets == ()
    gru = Recipe.of(params_for("bigru", BIGRU, length_buckets=[8, 16]), "bigru")
    assert gru.buckets == (8, 16) and gru.epochs == 2 and gru.learning_rate == 0.001
    net = gru.build(1, arrays["x_train"])
    history = gru.fit(net, arrays, 1, [])
    assert len(history.history["loss"]) == 2 and "val_loss" in history.history


@pytest.mark.pipeline  # trains a model: not a unit test
def test_the_recipe_trains_on_the_batches_keras_makes_from_the_arrays():
    """On TensorFlow the recipe makes Keras's shuffled batches once and gives them as datasets
    (reuters_rnn.fit.batching.array_batches), since Keras shuffles every epoch alike: the same
    weights and curves, bit for bit, as Keras's own model.fit on the arrays (a partial batch too)."""
    params = params_for("rnn", {"cell": "simple_rnn", "units": [4], "epochs": 3}, batch_size=50)
    recipe, arrays = Recipe.of(params, "rnn"), tiny_arrays()
    ours = recipe.build(1, arrays["x_train"])
    history = recipe.fit(ours, arrays, 1, [])
    theirs = recipe.build(1, arrays["x_train"])
    plain = theirs.fit(
        recipe.inputs(arrays["x_train"]),
        arrays["y_train"],
        batch_size=50,
        epochs=3,
        validation_data=(recipe.inputs(arrays["x_test"]), arrays["y_test"]),
        validation_batch_size=len(arrays["x_test"]),
        verbose=0,
    )
    assert history.history == plain.history and len(history.history["val_loss"]) == 3
    for mine, keras_own in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, keras_own)


def padded_arrays(n: int = 120, steps: int = 24, seed: int = 0) -> dict[str, np.ndarray]:
    """tiny_arrays with newswires of 2 to `steps` words, post-padded with zeros: length buckets
    put them in batches of different widths."""
    arrays = tiny_arrays(n, steps, seed)
    rng = np.random.default_rng(seed + 1)
    for split in ("train", "test"):
        words = rng.integers(2, steps + 1, size=n)
        arrays[f"x_{split}"][np.arange(steps)[None, :] >= words[:, None]] = 0
    return arrays


RNN = {"cell": "simple_rnn", "units": [4], "epochs": 6}
LATE_STOP = {"validation_fraction": 0.25, "patience": 6}  # watched, and never stops before 6


def train_killed_after(params, model, data, backups, out, stop_after=None) -> dict:
    """train_seed as a worker of the train stage runs it; with `stop_after`, killed by Ctrl-C
    right after that epoch's backup (then {"interrupted": True})."""
    from reuters_rnn.fit.progress import Backup
    from reuters_rnn.fit.training import train_seed

    if stop_after is None:
        return train_seed(params, model, 1, data, backups, out, 0.0)
    saved = Backup.on_epoch_end

    def killed_after_the_backup(self, epoch, logs=None):
        saved(self, epoch, logs)
        if epoch + 1 == stop_after:
            raise KeyboardInterrupt

    Backup.on_epoch_end = killed_after_the_backup
    try:
        train_seed(params, model, 1, data, backups, out, 0.0)
    except KeyboardInterrupt:
        return {"interrupted": True}
    finally:
        Backup.on_epoch_end = saved
    raise AssertionError("the training was not killed")


@pytest.mark.pipeline  # trains a model: not a unit test
@pytest.mark.parametrize(
    ("model", "spec", "train"),
    [
        ("rnn", RNN, {"length_buckets": [8, 16], "early_stopping": LATE_STOP}),
        ("swem", {**SWEM, "epochs": 6}, {"early_stopping": LATE_STOP}),
        ("bigru", {**BIGRU, "epochs": 6}, {"length_buckets": [8, 16]}),
    ],
)
def test_a_training_interrupted_after_a_backup_resumes_to_the_same_bytes(
    tmp_path, model, spec, train
):
    """Killed after its epoch-3 backup and run again, a training saves the very predictions an
    uninterrupted one saves: its batches continue the same order (length buckets included) and
    its dropout draws the same masks. Each run seeds every generator as a new worker process
    does (train_seed), so running them in this process tells the same."""
    from reuters_rnn.data.dataset import write_prepared

    params = params_for(model, spec, checkpoint_every=3, **train)
    data = tmp_path / "prepared"
    data.mkdir()
    write_prepared(data, padded_arrays())
    outs = {name: tmp_path / name for name in ("whole", "resumed")}
    for out in outs.values():
        out.mkdir()

    def run(name: str, stop_after: int | None = None) -> dict:
        backups = str(tmp_path / f"{name}-backups")
        return train_killed_after(params, model, str(data), backups, outs[name], stop_after)

    whole = run("whole")
    assert run("resumed", stop_after=3) == {"interrupted": True}
    resumed = run("resumed")
    assert resumed["epochs_resumed"] == 3 and whole["epochs_resumed"] == 0
    probabilities = "seed-1.probabilities.npy"
    assert (outs["resumed"] / probabilities).read_bytes() == (
        outs["whole"] / probabilities
    ).read_bytes()
