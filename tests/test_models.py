"""The one builder: published layer types, units, return_sequences and parameter counts."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from stages.models import build_model, compile_model, model_inputs
from stages.params import ModelSpec, load_params
from tests.conftest import PROJECT

PUBLISHED = {  # name: (recurrent layer class, units, parameter count)
    "vanilla_rnn": ("SimpleRNN", [50], 4946),
    "stacked_vanilla_rnn": ("SimpleRNN", [50, 50], 9996),
    "lstm": ("LSTM", [50], 12746),
    "stacked_lstm": ("LSTM", [50, 50], 32946),
}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_models_match_layers_and_parameter_counts(name):
    spec = load_params(PROJECT / "params.yaml").models[name]
    model = build_model(name, spec, sequence_length=49, num_classes=46, num_words=30000)
    cell, units, count = PUBLISHED[name]
    recurrent = [layer for layer in model.layers if type(layer).__name__ == cell]
    assert [layer.units for layer in recurrent] == units
    assert [layer.return_sequences for layer in recurrent] == [True] * (len(units) - 1) + [False]
    assert model.input_shape == (None, 49, 1)
    head = model.layers[-1]
    assert isinstance(head, keras.layers.Dense) and head.units == 46
    assert head.activation is keras.activations.softmax
    assert model.count_params() == count


def test_gru_embedding_and_bidirectional_specs_build_and_train():
    spec = ModelSpec(cell="gru", units=(8, 6), embedding_dim=4, bidirectional=True)
    model = compile_model(build_model("tiny", spec, 10, 46, num_words=20), 0.01)
    assert model.input_shape == (None, 10) and model.inputs[0].dtype == "int32"
    assert isinstance(model.layers[1], keras.layers.Embedding)
    wrapped = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    assert [type(layer.forward_layer).__name__ for layer in wrapped] == ["GRU", "GRU"]
    x = np.random.default_rng(0).integers(0, 20, size=(16, 10, 1)).astype("float32")
    y = np.eye(46, dtype="float32")[np.arange(16) % 3]
    history = model.fit(model_inputs(spec, x), y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model_inputs(spec, x).dtype == np.int32 and model_inputs(spec, x).shape == (16, 10)
