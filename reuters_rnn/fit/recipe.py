"""The one way a model is fitted: built and compiled from its spec, batched (length buckets for
recurrent models), watched (under train.early_stopping, the last part of the newswires it trains
on) and stopped (KeepBest), with the progress line and the stop on a non-finite loss.

These are the steps; the model's entry (reuters_rnn.fit.model_entry) runs them in their one order
for the train stage and for model search's folds alike, so a fold trains exactly as `train`
trains. Keras must be imported (reuters_rnn.plumbing.backend) before this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np

from reuters_rnn.data.dataset import NUM_CLASSES, held_out_name, holdout
from reuters_rnn.fit.batching import LengthBuckets, array_batches, predict
from reuters_rnn.fit.models import build_model, compile_model, length_buckets, model_inputs
from reuters_rnn.fit.progress import EpochLog, KeepBest, StopOnNonFinite
from reuters_rnn.schema.params import Params
from reuters_rnn.schema.specs import ModelSpec

WATCHED = "early-stopping"  # the curves' name for the part early stopping watches


@dataclass(frozen=True)
class Recipe:
    """How `spec` (params.yaml's `models.<name>`, or a search's candidate for it) trains."""

    params: Params
    name: str
    spec: ModelSpec

    @classmethod
    def of(cls, params: Params, name: str) -> Recipe:
        return cls(params, name, params.models[name])

    @property
    def epochs(self) -> int:
        return self.spec.trained_epochs(self.params.train)

    @property
    def learning_rate(self) -> float:
        return self.spec.trained_learning_rate(self.params.train)

    @property
    def buckets(self) -> tuple[int, ...]:
        return length_buckets(self.spec, self.params.train.length_buckets)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        return model_inputs(self.spec, x)

    def watched(self, arrays: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], str]:
        """The arrays a fit trains on (x/y_train) and watches (x/y_test), and the watched part's
        name: under early stopping the last validation_fraction of the training newswires,
        otherwise the held-out split as given."""
        stopping = self.params.train.early_stopping
        if stopping is None:
            return arrays, held_out_name(self.params.train.validation_split)
        return holdout(arrays, stopping.validation_fraction), WATCHED

    def _new(self, seed: int, length: int | None) -> keras.Model:
        keras.utils.set_random_seed(seed)
        return build_model(self.name, self.spec, length, NUM_CLASSES, self.params.data.num_words)

    def build(self, seed: int, x_train: np.ndarray) -> keras.Model:
        """A compiled model as seed `seed` starts it, for fits on x_train. Without buckets one
        compiled call per epoch; buckets change the shape batch to batch: one call a batch."""
        length = None if self.buckets else x_train.shape[1]  # buckets: any length
        model = self._new(seed, length)
        steps = 1 if self.buckets else math.ceil(len(x_train) / self.params.train.batch_size)
        train = self.params.train
        return compile_model(
            model, self.learning_rate, steps, train.jit_compile, self.spec.label_smoothing
        )

    def restart(self, net: keras.Model, seed: int) -> None:
        """Put a model this recipe built back where `build(seed)` starts: its weights and dropout
        seeds, and a fresh optimizer state. Its next fit trains exactly as a new build would,
        without compiling the steps again (docs/search.md: speed)."""
        fresh = self._new(seed, net.input_shape[1])
        for variable, initial in zip(net.variables, fresh.variables, strict=True):
            variable.assign(initial)
        for variable in net.optimizer.variables:
            if not variable.path.endswith("learning_rate"):
                variable.assign(np.zeros(variable.shape, variable.dtype))

    def callbacks(
        self, rows: list[dict], watched: str | None, label: str | None = None, best=None
    ) -> tuple[EpochLog, KeepBest | None, list]:
        """The fit's epoch log (printing as `label`, silent without one), its early stopping
        (None without train.early_stopping) and the callbacks in the order they run."""
        stopping = self.params.train.early_stopping
        progress = EpochLog(label, self.epochs, watched, rows)
        keep_best = KeepBest(stopping.patience, watched, rows, best) if stopping else None
        return (
            progress,
            keep_best,
            [StopOnNonFinite(), progress, *([keep_best] if keep_best else [])],
        )

    def fit(
        self,
        model: keras.Model,
        data: dict[str, np.ndarray],
        seed: int,
        callbacks: list,
        done: int = 0,
    ):
        """model.fit on data's x/y_train, watching x/y_test when data has them (every epoch),
        from epoch `done` (a resumed training) to the recipe's epochs; Keras's History."""
        x, pad, size = self.inputs(data["x_train"]), self.params.data.padding, len(data["x_train"])
        watching = "x_test" in data
        if self.buckets:
            # The dataset orders its batches by (seed, epoch), so a resumed fit continues the
            # same sequence; Keras's own shuffle of them (Python's global random, which a
            # resumed process draws afresh) stays off.
            batches = {
                "x": LengthBuckets(
                    x, data["y_train"], self.params.train.batch_size, self.buckets, pad, seed, done
                ),
                "shuffle": False,
            }
            if watching:
                batches["validation_data"] = LengthBuckets(
                    self.inputs(data["x_test"]), data["y_test"], size, self.buckets, pad
                )
        else:
            # The watched curves in one batch: the same numbers in less time (docs/speed.md).
            watched = (self.inputs(data["x_test"]), data["y_test"]) if watching else None
            batches = array_batches(x, data["y_train"], self.params.train.batch_size, watched)
        return model.fit(
            **batches, initial_epoch=done, epochs=self.epochs, callbacks=callbacks, verbose=0
        )

    def predict(self, model: keras.Model, x: np.ndarray) -> np.ndarray:
        """Each newswire's probability of every topic (each length bucket at its own width)."""
        return predict(model, self.inputs(x), self.buckets, self.params.data.padding)
