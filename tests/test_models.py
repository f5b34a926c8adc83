"""The builders: published layer types, units, return_sequences and parameter counts; the other
families build and train; every model kind in the schema has a builder."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest

from reuters_rnn.fit.models import (
    BUILDERS,
    POOLING_LAYERS,
    MaskedMaxPooling1D,
    build_model,
    compile_model,
    model_inputs,
)
from reuters_rnn.schema.params import load_params
from reuters_rnn.schema.specs import MODEL_KINDS, POOLINGS, PooledEmbeddingSpec, RecurrentSpec
from tests.tiny_project import PROJECT, published

COUNTS = {  # name: (recurrent layer class, units, parameter count) of the published experiment
    "vanilla_rnn": ("SimpleRNN", [50], 4946),
    "stacked_vanilla_rnn": ("SimpleRNN", [50, 50], 9996),
    "lstm": ("LSTM", [50], 12746),
    "stacked_lstm": ("LSTM", [50, 50], 32946),
}


def test_every_model_kind_and_pooling_has_one_builder():
    assert set(BUILDERS) == set(MODEL_KINDS.values())
    assert set(POOLING_LAYERS) == set(POOLINGS)


@pytest.mark.parametrize("name", list(COUNTS))
def test_published_models_match_layers_and_parameter_counts(name):
    assert name in published()
    spec = load_params(PROJECT / "params.yaml").models[name]
    model = build_model(name, spec, sequence_length=49, num_classes=46, num_words=30000)
    cell, units, count = COUNTS[name]
    recurrent = [layer for layer in model.layers if type(layer).__name__ == cell]
    assert [layer.units for layer in recurrent] == units
    assert [layer.return_sequences for layer in recurrent] == [True] * (len(units) - 1) + [False]
    assert model.input_shape == (None, 49, 1)
    head = model.layers[-1]
    assert isinstance(head, keras.layers.Dense) and head.units == 46
    assert head.activation is keras.activations.softmax
    assert model.count_params() == count


def fit_twice(spec, model) -> np.ndarray:
    x = np.random.default_rng(0).integers(0, 20, size=(16, 10, 1)).astype("float32")
    y = np.eye(46, dtype="float32")[np.arange(16) % 3]
    history = model.fit(model_inputs(spec, x), y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    return model_inputs(spec, x)


@pytest.mark.pipeline  # trains a model: not a unit test
def test_gru_embedding_and_bidirectional_specs_build_and_train():
    spec = RecurrentSpec(cell="gru", units=(8, 6), embedding_dim=4, bidirectional=True)
    model = compile_model(build_model("tiny", spec, 10, 46, num_words=20), 0.01)
    assert model.input_shape == (None, 10) and model.inputs[0].dtype == "int32"
    assert isinstance(model.layers[1], keras.layers.Embedding)
    wrapped = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    assert [type(layer.forward_layer).__name__ for layer in wrapped] == ["GRU", "GRU"]
    inputs = fit_twice(spec, model)
    assert inputs.dtype == np.int32 and inputs.shape == (16, 10)


@pytest.mark.parametrize(
    ("pooling", "buckets", "width"),
    [(("mean",), 0, 4), (("mean",), 50, 4), (("mean", "max"), 0, 8)],
)
@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_pooled_embedding_pools_words_and_hashed_pairs(pooling, buckets, width):
    spec = PooledEmbeddingSpec(
        kind="pooled_embedding", embedding_dim=4, pooling=pooling, bigram_buckets=buckets
    )
    model = compile_model(build_model("pooled", spec, 10, 46, num_words=20), 0.01)
    embedding = next(layer for layer in model.layers if isinstance(layer, keras.layers.Embedding))
    assert embedding.input_dim == 20 + buckets
    assert model.layers[-1].input.shape == (None, width)
    fit_twice(spec, model)


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_pooled_embedding_regularizers_and_hidden_layer_build_and_train():
    spec = PooledEmbeddingSpec(
        kind="pooled_embedding",
        embedding_dim=4,
        pooling=("mean", "max"),
        embeddings_initializer="zeros",
        word_dropout=0.2,
        feature_dropout=0.2,
        hidden=6,
        dropout=0.3,
    )
    model = compile_model(build_model("pooled", spec, 10, 46, num_words=20), 0.01)
    kinds = [type(layer).__name__ for layer in model.layers]
    for layer in ("Dropout", "SpatialDropout1D", "Dense"):
        assert layer in kinds
    embedding = next(layer for layer in model.layers if isinstance(layer, keras.layers.Embedding))
    assert not np.asarray(embedding.embeddings).any()  # started at zero
    word_drop = next(layer for layer in model.layers if isinstance(layer, keras.layers.Dropout))
    assert word_drop.noise_shape == (None, 10, 1)  # whole words
    assert model.layers[-1].input.shape == (None, 6)  # the softmax reads the hidden layer
    fit_twice(spec, model)


def test_max_pooling_ignores_padding():
    words = np.array([[[1.0, -5.0], [3.0, -4.0], [9.0, 9.0]]], dtype="float32")
    mask = np.array([[True, True, False]])  # the last step is padding
    pooled = np.asarray(MaskedMaxPooling1D()(words, mask=mask))
    np.testing.assert_allclose(pooled, [[3.0, -4.0]])
    empty = np.asarray(MaskedMaxPooling1D()(words, mask=np.zeros((1, 3), dtype=bool)))
    np.testing.assert_allclose(empty, [[0.0, 0.0]])


def test_label_smoothing_softens_the_targets():
    spec = RecurrentSpec(cell="simple_rnn", units=(2,))
    model = build_model("tiny", spec, 3, 46, num_words=20)
    for smoothing in (0.0, 0.2):
        loss = compile_model(model, 0.01, label_smoothing=smoothing).loss
        assert loss.get_config()["label_smoothing"] == smoothing


@pytest.mark.pipeline  # trains a model: not a unit test
def test_smoothed_training_also_logs_the_plain_cross_entropy():
    spec = PooledEmbeddingSpec(kind="pooled_embedding", embedding_dim=4)
    x = np.random.default_rng(0).integers(0, 20, size=(16, 10)).astype("int32")
    y = np.eye(46, dtype="float32")[np.arange(16) % 3]
    plain = compile_model(build_model("plain", spec, 10, 46, num_words=20), 0.01)
    assert list(plain.evaluate(x, y, verbose=0, return_dict=True)) == ["accuracy", "loss"]
    model = compile_model(build_model("pooled", spec, 10, 46, num_words=20), 0.01, 1, True, 0.2)
    model.fit(x, y, epochs=2, verbose=0)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    expected = float(
        keras.ops.mean(keras.losses.categorical_crossentropy(y, model.predict(x, verbose=0)))
    )
    assert logs["cross_entropy"] == pytest.approx(expected, rel=1e-4)
    assert logs["loss"] > logs["cross_entropy"]  # the smoothed targets are harder to fit


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_pooled_model_with_convolution_and_max_pooling_saves_and_loads(tmp_path):
    spec = PooledEmbeddingSpec(
        kind="pooled_embedding", embedding_dim=4, pooling=("mean", "max"), conv_filters=3
    )
    model = compile_model(build_model("pooled", spec, 10, 46, num_words=20), 0.01)
    inputs = fit_twice(spec, model)
    model.save(tmp_path / "pooled.keras")
    loaded = keras.models.load_model(tmp_path / "pooled.keras")
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0))


JAX_SAVE_AND_LOAD = """
import sys
import numpy as np
from reuters_rnn.plumbing.backend import import_keras, use_backend
use_backend("jax", threads=1)
keras = import_keras()
from reuters_rnn.fit.models import build_model, compile_model, model_inputs
from reuters_rnn.schema.specs import PooledEmbeddingSpec
spec = PooledEmbeddingSpec(kind="pooled_embedding", embedding_dim=4, pooling=("mean", "max"))
model = compile_model(build_model("pooled", spec, 10, 46, num_words=20), 0.01)
x = model_inputs(spec, np.random.default_rng(0).integers(0, 20, (8, 10, 1)).astype("float32"))
model.fit(x, keras.utils.to_categorical(np.arange(8) % 46, 46), epochs=1, verbose=0)
model.save(sys.argv[1])
loaded = keras.models.load_model(sys.argv[1])
np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
print("tensorflow loaded:", "tensorflow" in sys.modules)
"""


@pytest.mark.pipeline  # trains a model: not a unit test
def test_jax_saves_and_loads_models_without_loading_tensorflow(tmp_path):
    pytest.importorskip("jax", reason="the jax extra is not installed: pip install -e '.[jax]'")
    path = tmp_path / "pooled.keras"
    result = subprocess.run(
        [sys.executable, "-c", JAX_SAVE_AND_LOAD, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "tensorflow loaded: False" in result.stdout  # ~3 s less per training process
    assert path.exists() and not result.stderr.strip(), result.stderr
