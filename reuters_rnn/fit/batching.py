"""How a fit's batches are made: Keras's own, made once (`array_batches`), or batches of similar
lengths (train.length_buckets): each newswire is padded only to the first bucket length that
holds it, so a short newswire does not pay for the longest one's steps.

A newswire always lands in the same bucket, in training and in prediction alike, so a model sees
each one with the same padding every time. Prepared arrays keep the full length; the buckets only
cut off padding (post-padded: from the end; pre-padded: from the start).
"""

from __future__ import annotations

import keras
import numpy as np


def lengths(x: np.ndarray, padding: str) -> np.ndarray:
    """Words per newswire in padded (n, steps) or (n, steps, 1) ids (0 is padding, never a word)."""
    words = (x.reshape(len(x), x.shape[1]) != 0).astype(bool)
    steps = x.shape[1]
    if padding == "post":  # the last word's position + 1
        return np.where(words.any(axis=1), steps - words[:, ::-1].argmax(axis=1), 0)
    return np.where(words.any(axis=1), steps - words.argmax(axis=1), 0)


def widths(x: np.ndarray, buckets: tuple[int, ...], padding: str) -> np.ndarray:
    """Each newswire's padded length: the first bucket that holds it, else the full length."""
    edges = np.array([*buckets, x.shape[1]])
    return edges[np.searchsorted(edges, lengths(x, padding), side="left")]


def trim(x: np.ndarray, width: int, padding: str) -> np.ndarray:
    """The same newswires with only `width` steps of (padded) words."""
    return x[:, :width] if padding == "post" else x[:, x.shape[1] - width :]


def array_batches(x: np.ndarray, y: np.ndarray, batch_size: int, watched=None) -> dict:
    """model.fit's data arguments to train on (x, y) in batches of `batch_size`, shuffled as
    Keras shuffles, and to watch `watched` ((x, y) or None) in one batch after every epoch.

    On TensorFlow, Keras shuffles the indices with a seeded op whose state starts afresh with each
    epoch's iterator, so every epoch sees the same batches in the same order (tests/test_recipe.py
    pins it); and it rebuilds that input pipeline every epoch, for both splits, a large share of
    a short epoch (docs/speed.md measures it). So there the batches are made once, by Keras's
    own adapter (Keras has no public way to them), and given as datasets: the same numbers, bit
    for bit. Other backends get the arrays.
    """
    if keras.backend.backend() != "tensorflow":
        arguments = {"x": x, "y": y, "batch_size": batch_size}
        if watched is not None:
            arguments |= {"validation_data": watched, "validation_batch_size": len(watched[0])}
        return arguments
    import tensorflow as tf
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    made = list(ArrayDataAdapter(x, y, batch_size=batch_size, shuffle=True).get_tf_dataset())
    full = [batch for batch in made if len(batch[0]) == batch_size]
    batches = tf.data.Dataset.from_tensor_slices(
        tuple(tf.stack([batch[part] for batch in full]) for part in (0, 1))
    )
    for partial in made[len(full) :]:  # the last, smaller batch
        batches = batches.concatenate(tf.data.Dataset.from_tensors(partial))
    arguments = {"x": batches, "shuffle": False}  # shuffled once already, as Keras shuffles
    if watched is not None:
        arguments["validation_data"] = tf.data.Dataset.from_tensors(
            tuple(tf.constant(part) for part in watched)
        )
    return arguments


class LengthBuckets(keras.utils.PyDataset):
    """(inputs, targets) batches, each from one bucket. With a seed, a fresh order every epoch
    (newswires shuffled within their bucket, then batches shuffled), drawn from (seed, epoch) so
    that a resumed training continues the same sequence; without one, in order (to evaluate)."""

    def __init__(self, x, y, batch_size, buckets, padding, seed=None, epoch=0):
        super().__init__()
        self.x, self.y, self.padding = x, y, padding
        self.batch_size, self.seed, self.epoch = batch_size, seed, epoch
        self.width = widths(x, buckets, padding)
        self.order = self._batches()

    def _batches(self) -> list[tuple[int, np.ndarray]]:
        rng = None if self.seed is None else np.random.default_rng([self.seed, self.epoch])
        batches = []
        for width in np.unique(self.width):
            members = np.flatnonzero(self.width == width)
            if rng is not None:
                members = rng.permutation(members)
            for start in range(0, len(members), self.batch_size):
                batches.append((int(width), members[start : start + self.batch_size]))
        if rng is not None:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        # Keras reads the input shape off the first two batches: two widths there make the
        # steps dimension variable (one compiled step per width, not an error at the next).
        other = next((i for i, b in enumerate(batches) if b[0] != batches[0][0]), None)
        if other is not None:
            batches[1], batches[other] = batches[other], batches[1]
        return batches

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, index: int):
        width, members = self.order[index]
        return trim(self.x[members], width, self.padding), self.y[members]

    def on_epoch_end(self) -> None:
        if self.seed is not None:
            self.epoch += 1
            self.order = self._batches()


def predict(model: keras.Model, x: np.ndarray, buckets: tuple[int, ...], padding: str):
    """The model's probabilities for every newswire, each bucket predicted at its own width."""
    if not buckets:
        return model.predict(x, verbose=0)
    width = widths(x, buckets, padding)
    out = np.zeros((len(x), model.output_shape[-1]), dtype="float32")
    for w in np.unique(width):
        members = np.flatnonzero(width == w)
        out[members] = model.predict(trim(x[members], int(w), padding), verbose=0)
    return out
