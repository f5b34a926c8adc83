"""A model of params.yaml's `models:` as an entry: its fit_predict is the recipe's steps in their
one order (watched -> built, restarted or restored -> callbacks -> fit -> predict), which the
train stage (with its backup, live curves and progress line) and model search's folds both run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reuters_rnn.data.dataset import NUM_CLASSES
from reuters_rnn.fit.entry import Entry, Fit, Memo, Split
from reuters_rnn.schema.params import Params

if TYPE_CHECKING:
    from reuters_rnn.fit.live import LiveFiles


class Model(Entry):
    """A Keras model of `models:`, fitted by its recipe (reuters_rnn.fit.recipe). The object keeps
    the model it compiled: a later fit starts it over as a new build would (the same weights,
    bit for bit) without compiling the steps again."""

    section = "models"

    def __init__(self, params: Params, name: str, spec=None) -> None:
        super().__init__(params, name, spec)
        self._net = None

    @property
    def recipe(self):
        """How it trains (reuters_rnn.fit.recipe); Keras loads here: choose the backend first."""
        from reuters_rnn.fit.recipe import Recipe

        return Recipe(self.params, self.name, self.spec)

    def _fit(
        self,
        split: Split,
        seed: int | None,
        memo: Memo | None,
        watch: bool = False,
        backup: Path | None = None,
        live: LiveFiles | None = None,
        label: str | None = None,
    ) -> Fit:
        """With `watch`, the held-out part is scored each epoch; with `backup`,
        the fit resumes from it and saves to it every train.checkpoint_every epochs; with
        `live`, each epoch's rows are appended to its curves and its summary rewritten; with `label`, a progress line."""
        import keras

        from reuters_rnn.fit.progress import Backup, LiveCurves, restore

        recipe, seed = self.recipe, int(seed or 0)
        eye = np.eye(NUM_CLASSES, dtype="float32")
        arrays = {
            "x_train": split.x_train,
            "y_train": eye[split.labels_train],
            "labels_train": split.labels_train,
        }
        if watch and split.labels_held is not None:
            arrays |= {
                "x_test": split.x_held,
                "y_test": eye[split.labels_held],
                "labels_test": split.labels_held,
            }
        data, watched = recipe.watched(arrays)
        start = time.perf_counter()
        keras.utils.set_random_seed(seed)  # before a restore too (recipe.build sets it)
        restored = restore(backup) if backup else None
        done, rows, best = 0, list[dict](), None
        if restored:
            net, done, rows, best = restored
            print(f"{label}: resuming after epoch {done}", flush=True)
        elif self._net is not None and self._net.input_shape[1] in (None, data["x_train"].shape[1]):
            net = self._net
            recipe.restart(net, seed)
        else:
            net = self._net = recipe.build(seed, data["x_train"])
        progress, keep_best, callbacks = recipe.callbacks(
            rows, watched if "x_test" in data else None, label, best
        )
        if live:
            callbacks.append(LiveCurves(live, seed, rows))
        if backup:
            callbacks.append(Backup(backup, self.params.train.checkpoint_every, rows, keep_best))
        history = recipe.fit(net, data, seed, callbacks, done)
        seconds = time.perf_counter() - start
        losses = history.history.get("loss", [])
        return Fit(
            probabilities=recipe.predict(net, split.x_held),
            seconds=seconds,
            weights=int(net.count_params()),
            rows=progress.rows,
            loss=float(losses[-1]) if losses else None,
            epochs_run=len(losses),
            best_epoch=keep_best.best_epoch() if keep_best else None,
            resumed_after=done,
            ms_per_epoch=progress.ms_per_epoch(),
            first_epoch_ended=progress.first_epoch_ended,
            net=net,
        )
