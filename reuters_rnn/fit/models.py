"""Model spec (data from params.yaml) -> compiled keras.Model: one builder per model family.

Backend-agnostic Keras 3: the caller chooses the backend (reuters_rnn.plumbing.backend) before this
module is imported. Adding a family is three edits: its spec class in reuters_rnn.schema.specs, with
its kind in MODEL_KINDS and its tagged member in AnyModelSpec, and its builder in BUILDERS here.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from keras import ops

from reuters_rnn.schema.specs import CELLS, ModelSpec, PooledEmbeddingSpec, RecurrentSpec

# A prime that spreads word pairs (a, b) over the hashed bigram buckets.
PAIR_PRIME = 7919


def build_recurrent(spec: RecurrentSpec, sequence_length: int, num_words: int) -> tuple:
    """The published family: recurrent layers as the spec says.

    Without `embedding_dim` the input is the published one: the raw word id as one float feature
    per step, shape (sequence_length, 1). With it, integer ids go through an Embedding that masks
    the zero padding.
    """
    if spec.embedding_dim:
        inputs = keras.Input((sequence_length,), dtype="int32", name="word_ids")
        x = keras.layers.Embedding(num_words, spec.embedding_dim, mask_zero=True)(inputs)
    else:
        inputs = keras.Input((sequence_length, 1), name="word_id_as_float")
        x = inputs
    cell = getattr(keras.layers, CELLS[spec.cell])
    for depth, units in enumerate(spec.units):
        layer = cell(units, return_sequences=depth < len(spec.units) - 1)
        x = (keras.layers.Bidirectional(layer) if spec.bidirectional else layer)(x)
    return inputs, x


@keras.saving.register_keras_serializable(package="reuters_rnn")
class MaskedMaxPooling1D(keras.layers.Layer):
    """The largest value of each feature over the unmasked steps (Keras's GlobalMaxPooling1D
    ignores the mask, so padding would count); 0 for a sequence with no unmasked step."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.max(inputs, axis=1)
        kept = ops.expand_dims(mask, -1)
        largest = ops.max(ops.where(kept, inputs, float("-inf")), axis=1)
        return ops.where(ops.any(kept, axis=1), largest, 0.0)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="reuters_rnn")
class MaskedConv1D(keras.layers.Layer):
    """Conv1D (relu, output as long as the input) over the unmasked steps: padding enters as
    zeros, as past either end of a newswire, and the mask passes on to the pooling."""

    def __init__(self, filters: int, width: int, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.width = filters, width
        self.conv = keras.layers.Conv1D(filters, width, padding="same", activation="relu")
        self.supports_masking = True

    def build(self, input_shape):
        self.conv.build(input_shape)

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = inputs * ops.cast(ops.expand_dims(mask, -1), inputs.dtype)
        return self.conv(inputs)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "width": self.width}


# specs.POOLINGS -> the layer that pools over the words.
POOLING_LAYERS = {"mean": keras.layers.GlobalAveragePooling1D, "max": MaskedMaxPooling1D}


def build_pooled_embedding(
    spec: PooledEmbeddingSpec, sequence_length: int, num_words: int
) -> tuple:
    """fastText/SWEM-style: embed the words (and, with bigram_buckets, hashed adjacent word
    pairs), optionally convolve, then pool over them, padding ignored: the mean, the max, or both
    concatenated; optionally through a hidden relu layer. Dropout as the spec says: of whole words or whole
    embedding dimensions before pooling, of the features the softmax reads after."""
    inputs = keras.Input((sequence_length,), dtype="int32", name="word_ids")
    ids = inputs
    if spec.bigram_buckets:
        first, second = inputs[:, :-1], inputs[:, 1:]
        both = ops.cast((first > 0) & (second > 0), "int32")
        pairs = (num_words + (first * PAIR_PRIME + second) % spec.bigram_buckets) * both
        ids = ops.concatenate([inputs, pairs], axis=1)
    vocabulary = num_words + spec.bigram_buckets
    words = keras.layers.Embedding(
        vocabulary,
        spec.embedding_dim,
        mask_zero=True,
        embeddings_initializer=spec.embeddings_initializer,
    )(ids)
    if spec.word_dropout:  # one draw per word: a dropped word is gone from every dimension
        words = keras.layers.Dropout(spec.word_dropout, noise_shape=(None, ids.shape[1], 1))(words)
    if spec.feature_dropout:  # one draw per dimension: gone from every word of the newswire
        words = keras.layers.SpatialDropout1D(spec.feature_dropout)(words)
    if spec.conv_filters:  # features of `conv_width` adjacent words, pooled like the words
        words = MaskedConv1D(spec.conv_filters, spec.conv_width)(words)
    pooled = [POOLING_LAYERS[name]()(words) for name in spec.pooling]
    x = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate()(pooled)
    if spec.hidden:
        x = keras.layers.Dense(spec.hidden, activation="relu")(x)
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout)(x)
    return inputs, x


BUILDERS: dict[type[ModelSpec], Callable[..., tuple]] = {
    RecurrentSpec: build_recurrent,
    PooledEmbeddingSpec: build_pooled_embedding,
}


def build_model(
    name: str, spec: ModelSpec, sequence_length: int | None, num_classes: int, num_words: int
) -> keras.Model:
    """The spec's family body, then Dense(num_classes) with softmax."""
    inputs, x = BUILDERS[type(spec)](spec, sequence_length, num_words)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="topic")(x)
    return keras.Model(inputs, outputs, name=name)


def compile_model(
    model: keras.Model,
    learning_rate: float,
    steps_per_execution: int = 1,
    jit_compile=True,
    label_smoothing: float = 0.0,
) -> keras.Model:
    """The published training setup: Adam and categorical cross-entropy on one-hot labels
    (optionally smoothed: the true topic gets 1 - label_smoothing plus its share of it). With
    smoothing, the loss is not the cross-entropy of the true topics any more, so that is logged
    too (`cross_entropy`): it is what the learning curves draw, comparable across models.

    `steps_per_execution` runs that many batches per compiled call (the same updates, with less
    Python between them); `jit_compile` makes TensorFlow compile the step with XLA, which Keras's
    "auto" does not do for recurrent layers (JAX always compiles).
    """
    metrics: list = ["accuracy"]
    if label_smoothing:
        metrics.append(keras.metrics.CategoricalCrossentropy(name="cross_entropy"))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=metrics,
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile,
    )
    return model


def length_buckets(spec: ModelSpec, buckets: tuple[int, ...]) -> tuple[int, ...]:
    """The train.length_buckets this model trains with: a recurrent model runs its steps one
    after another, so cutting padding saves it time; a pooled one computes every step at once,
    and there one compiled call per epoch over padded batches is faster (benchmarks/buckets.py
    measures both: docs/whole-set.md)."""
    return buckets if isinstance(spec, RecurrentSpec) else ()


def takes_word_ids(spec: ModelSpec) -> bool:
    """Embedding-fed models read integer ids; the published ones one float feature per step."""
    return not isinstance(spec, RecurrentSpec) or spec.embedding_dim is not None


def model_inputs(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    """Prepared x is (n, steps, 1) float word ids; embedding-fed models take them as int ids."""
    return x[..., 0].astype("int32") if takes_word_ids(spec) else x
