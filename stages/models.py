"""Model spec (data from params.yaml) -> compiled keras.Model: one builder for every model.

Backend-agnostic Keras 3: the caller sets KERAS_BACKEND before this module is imported.
"""

from __future__ import annotations

import keras
import numpy as np

from stages.params import ModelSpec

CELL_LAYERS = {
    "simple_rnn": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}


def build_model(
    name: str, spec: ModelSpec, sequence_length: int, num_classes: int, num_words: int
) -> keras.Model:
    """Recurrent layers as the spec says, then Dense(num_classes) with softmax.

    Without `embedding_dim` the input is the published one: the raw word id as one float feature
    per step, shape (sequence_length, 1). With it, integer ids go through an Embedding that
    masks the zero padding.
    """
    if spec.embedding_dim:
        inputs = keras.Input((sequence_length,), dtype="int32", name="word_ids")
        x = keras.layers.Embedding(num_words, spec.embedding_dim, mask_zero=True)(inputs)
    else:
        inputs = keras.Input((sequence_length, 1), name="word_id_as_float")
        x = inputs
    for depth, units in enumerate(spec.units):
        layer = CELL_LAYERS[spec.cell](units, return_sequences=depth < len(spec.units) - 1)
        if spec.bidirectional:
            layer = keras.layers.Bidirectional(layer)
        x = layer(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="topic")(x)
    return keras.Model(inputs, outputs, name=name)


def compile_model(
    model: keras.Model, learning_rate: float, steps_per_execution: int = 1
) -> keras.Model:
    """The published training setup: Adam and categorical cross-entropy on one-hot labels.

    `steps_per_execution` runs that many batches per compiled call: the same updates, with less
    Python between them (a whole epoch per call halves TensorFlow's time for the SimpleRNNs).
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def model_inputs(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    """Prepared x is (n, steps, 1) float word ids; embedding models take them as int ids."""
    return x[..., 0].astype("int32") if spec.embedding_dim else x
