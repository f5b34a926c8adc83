"""The builders: published layer types, units, return_sequences and parameter counts; the other
families build and train; every model kind in the schema has a builder."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from stages.models import BUILDERS, build_model, compile_model, model_inputs
from stages.params import MODEL_KINDS, AveragedEmbeddingSpec, RecurrentSpec, load_params
from tests.tiny_project import PROJECT, published

COUNTS = {  # name: (recurrent layer class, units, parameter count) of the published experiment
    "vanilla_rnn": ("SimpleRNN", [50], 4946),
    "stacked_vanilla_rnn": ("SimpleRNN", [50, 50], 9996),
    "lstm": ("LSTM", [50], 12746),
    "stacked_lstm": ("LSTM", [50, 50], 32946),
}


def test_every_model_kind_has_one_builder():
    assert set(BUILDERS) == set(MODEL_KINDS.values())


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


def test_gru_embedding_and_bidirectional_specs_build_and_train():
    spec = RecurrentSpec(cell="gru", units=(8, 6), embedding_dim=4, bidirectional=True)
    model = compile_model(build_model("tiny", spec, 10, 46, num_words=20), 0.01)
    assert model.input_shape == (None, 10) and model.inputs[0].dtype == "int32"
    assert isinstance(model.layers[1], keras.layers.Embedding)
    wrapped = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    assert [type(layer.forward_layer).__name__ for layer in wrapped] == ["GRU", "GRU"]
    inputs = fit_twice(spec, model)
    assert inputs.dtype == np.int32 and inputs.shape == (16, 10)


@pytest.mark.parametrize("buckets", [0, 50])
def test_averaged_embedding_averages_words_and_hashed_pairs(buckets):
    spec = AveragedEmbeddingSpec(kind="averaged_embedding", embedding_dim=4, bigram_buckets=buckets)
    model = compile_model(build_model("avg", spec, 10, 46, num_words=20), 0.01)
    embedding = next(layer for layer in model.layers if isinstance(layer, keras.layers.Embedding))
    assert embedding.input_dim == 20 + buckets
    assert any(isinstance(layer, keras.layers.GlobalAveragePooling1D) for layer in model.layers)
    fit_twice(spec, model)
