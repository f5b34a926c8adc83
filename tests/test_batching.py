"""Length buckets and masking: each newswire in one bucket, every newswire once per epoch, and
the embedding models' predictions unchanged by more padding (so buckets cannot change them)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from reuters_rnn.fit.batching import LengthBuckets, lengths, predict, trim, widths
from reuters_rnn.fit.models import build_model, compile_model
from reuters_rnn.schema.specs import PooledEmbeddingSpec, RecurrentSpec

RNG = np.random.default_rng(0)


def padded(words: list[int], steps: int = 40, padding: str = "post") -> np.ndarray:
    """Newswires of the given word counts, random ids, padded to `steps`, as (n, steps) ints."""
    x = np.zeros((len(words), steps), dtype="int32")
    for row, n in enumerate(words):
        ids = RNG.integers(1, 300, size=n)
        if padding == "post":
            x[row, :n] = ids
        else:
            x[row, steps - n :] = ids
    return x


@pytest.mark.parametrize("padding", ["post", "pre"])
def test_each_newswire_gets_the_first_bucket_that_holds_it(padding):
    x = padded([1, 8, 9, 16, 17, 40], padding=padding)
    assert lengths(x, padding).tolist() == [1, 8, 9, 16, 17, 40]
    assert lengths(x[..., None].astype("float32"), padding).tolist() == [1, 8, 9, 16, 17, 40]
    assert widths(x, (8, 16), padding).tolist() == [8, 8, 16, 16, 40, 40]
    kept = trim(x, 16, padding)
    assert kept.shape == (6, 16) and (kept != 0).sum() == (x[:4] != 0).sum() + 2 * 16


def test_an_epoch_holds_every_newswire_once_in_batches_of_one_width():
    x = padded(RNG.integers(1, 41, size=103).tolist())
    labels = np.arange(103)
    batches = LengthBuckets(x, labels, 10, (8, 16, 32), "post", seed=3)
    seen = []
    for i in range(len(batches)):
        inputs, targets = batches[i]
        assert inputs.shape[1] in (8, 16, 32, 40) and len(targets) <= 10
        assert (widths(x[targets], (8, 16, 32), "post") == inputs.shape[1]).all()
        seen.extend(targets.tolist())
    assert sorted(seen) == labels.tolist()
    assert batches[0][0].shape[1] != batches[1][0].shape[1]  # Keras sees a variable length
    first = [t.tolist() for _, t in (batches[i] for i in range(len(batches)))]
    batches.on_epoch_end()
    second = [t.tolist() for _, t in (batches[i] for i in range(len(batches)))]
    assert first != second  # reshuffled every epoch ...
    resumed = LengthBuckets(x, labels, 10, (8, 16, 32), "post", seed=3, epoch=1)
    assert [t.tolist() for _, t in (resumed[i] for i in range(len(resumed)))] == second  # ... alike


SPECS = {
    "embedding_lstm": RecurrentSpec(cell="lstm", units=(8,), embedding_dim=8),
    "swem": PooledEmbeddingSpec(
        kind="pooled_embedding", embedding_dim=8, pooling=("mean", "max"), bigram_buckets=50
    ),
    "regularized_swem": PooledEmbeddingSpec(
        kind="pooled_embedding", embedding_dim=8, word_dropout=0.2, hidden=8, dropout=0.1
    ),
    "convolution": PooledEmbeddingSpec(
        kind="pooled_embedding", embedding_dim=8, pooling=("mean", "max"), conv_filters=6
    ),
}


@pytest.mark.parametrize(
    ("name", "padding"),
    [
        ("embedding_lstm", "post"),
        ("embedding_lstm", "pre"),
        ("swem", "post"),
        ("regularized_swem", "pre"),
        ("convolution", "post"),
        ("convolution", "pre"),
    ],
)
@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_more_padding_and_buckets_leave_embedding_models_predictions_unchanged(name, padding):
    keras.utils.set_random_seed(1)
    model = compile_model(build_model(name, SPECS[name], None, 46, 300), 0.01, jit_compile=False)
    x = padded(RNG.integers(1, 21, size=30).tolist(), steps=20, padding=padding)
    model.fit(x, keras.utils.to_categorical(RNG.integers(0, 46, 30), 46), epochs=1, verbose=0)
    more = np.zeros((30, 60), dtype="int32")
    if padding == "post":
        more[:, :20] = x
    else:
        more[:, 40:] = x
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(model.predict(more, verbose=0), expected, atol=1e-5)
    np.testing.assert_allclose(predict(model, more, (8, 16), padding), expected, atol=1e-5)
