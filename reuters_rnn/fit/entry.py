"""What a params.yaml entry is: a model (reuters_rnn.fit.model_entry), a baseline
(reuters_rnn.fit.baselines) or an ensemble (reuters_rnn.fit.ensembling), each an Entry with one
`fit_predict(split, seed)` that gives the held-out part's probabilities and the fit's cost.

The train, baseline and ensemble stages and model search's cross-validation all call it, as
scikit-learn's cross_validate calls an estimator's own fit: a fold of the search trains exactly as
its stage trains. An ensemble averages its members' fit_predict; a `Memo` that its caller owns
(one per search worker, one per ensemble stage run) keeps fits and TF-IDF features for reuse.
A new kind of entry is one Entry subclass, its spec (reuters_rnn.schema.specs) and a line in
reuters_rnn.fit.entries.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reuters_rnn.schema.params import Params


@dataclass(frozen=True)
class Split:
    """What a fit trains on (x_train, labels_train) and predicts (x_held). labels_held, when
    given, lets a model watch the held-out part each epoch; `key` names the split in a Memo."""

    x_train: np.ndarray
    labels_train: np.ndarray
    x_held: np.ndarray
    labels_held: np.ndarray | None = None
    key: tuple = ()


@dataclass
class Fit:
    """One fit's result: the held-out probabilities and what the fit cost and did. `seconds`
    counts building (or restoring) and fitting, not predicting; an ensemble's, its members'."""

    probabilities: np.ndarray
    seconds: float
    weights: int = 0
    rows: list[dict] = field(default_factory=list)  # the learning curves (a model's)
    loss: float | None = None  # the last epoch's training loss (a model's)
    epochs_run: int | None = None  # epochs this fit ran (a model's; fewer when it stopped)
    best_epoch: int | None = None  # under early stopping
    resumed_after: int = 0  # epochs a backup had saved
    ms_per_epoch: float | None = None
    first_epoch_ended: float = 0.0  # wall clock (time.time)
    net: Any = None  # the trained Keras model (a model's)


class Memo:
    """A bounded store owned by its caller: fits by (entry, split, seed) and TF-IDF features by
    (split, vectorizer setting); the least recently used goes first."""

    def __init__(self, fits: int = 400, features: int = 40) -> None:
        # 40 feature pairs: about 1 GB for the whole set's folds with word triples.
        self.limits = {"fit": fits, "features": features}
        self.kept: dict[str, OrderedDict[tuple, Any]] = {
            kind: OrderedDict() for kind in self.limits
        }

    def get(self, kind: str, key: tuple) -> Any:
        found = self.kept[kind].get(key)
        if found is not None:
            self.kept[kind].move_to_end(key)
        return found

    def hold(self, entry: Entry, split: Split, fits: dict[int | None, Fit]) -> None:
        """Keep fits made elsewhere (a stage's outputs) as `entry`'s fits of `split` by seed."""
        for seed, fit in fits.items():
            self.put("fit", (entry.key, split.key, seed), fit)

    def put(self, kind: str, key: tuple, value: Any) -> None:
        kept = self.kept[kind]
        kept[key] = value
        kept.move_to_end(key)
        while len(kept) > self.limits[kind]:
            kept.popitem(last=False)

    def __len__(self) -> int:
        return sum(len(kept) for kept in self.kept.values())


class Entry:
    """An entry of params.yaml (`spec` the section's entry, or a search's candidate for it)."""

    section = ""
    seeded = True  # whether the seed changes its fit

    def __init__(self, params: Params, name: str, spec=None) -> None:
        self.params, self.name = params, name
        self.spec = spec if spec is not None else getattr(params, self.section)[name]

    @property
    def key(self) -> tuple:
        """What decides its fits: the kind, the spec and how params trains (not the name: two
        entries of one spec fit alike)."""
        train = self.params.train.model_dump_json()
        return (self.section, self.spec.model_dump_json(), train)

    def seeds(self) -> tuple[int | None, ...]:
        """The seeds its fits take: train.seeds, or None alone for one fit standing for all."""
        return tuple(self.params.train.seeds) if self.seeded else (None,)

    def fit_predict(
        self, split: Split, seed: int | None, memo: Memo | None = None, **train: Any
    ) -> Fit:
        """Fit on split's training part with `seed`; the held-out probabilities and the cost.
        A fit in `memo` is returned as it is, and a new one put there; `train`: what the train
        stage adds to a model's fit (Model._fit), which the memo never stands in for."""
        key = (self.key, split.key, seed)
        if memo is not None and not train:
            found = memo.get("fit", key)
            if found is not None:
                return found
        fit = self._fit(split, seed, memo, **train)
        if memo is not None:
            memo.put("fit", key, fit)
        return fit

    def _fit(self, split: Split, seed: int | None, memo: Memo | None) -> Fit:
        """The entry's own fit (a subclass's); a model's takes the train stage's keywords."""
        raise NotImplementedError
