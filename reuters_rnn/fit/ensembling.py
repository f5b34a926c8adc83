"""What an ensemble is: the average of its members' held-out probabilities, each member weighing
the same. The ensemble stage averages what train and baseline wrote; model search averages the
same members' fold fits, so an ensemble's cross-validation scores what the stage scores.
"""

from __future__ import annotations

import numpy as np

from reuters_rnn.fit.entry import Entry, Fit, Memo, Split
from reuters_rnn.schema.params import Params
from reuters_rnn.schema.sections import EnsembleSpec

POOLED = "pooled"  # the one run's name (in place of a seed) of an ensemble with seeds: pooled


def average(
    spec: EnsembleSpec,
    seeds: tuple[int, ...],
    trained: dict[str, dict[int, np.ndarray]],
    baselines: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """The ensemble's probabilities per run (a seed's name, or POOLED): the mean over members,
    each a baseline's probabilities or a model's (that seed's, or the mean of its seeds)."""

    def member(name: str, seed: int | None) -> np.ndarray:
        if name in baselines:
            return baselines[name]
        runs = trained[name]
        return runs[seed] if seed is not None else np.mean([runs[s] for s in seeds], axis=0)

    def mean(seed: int | None) -> np.ndarray:
        probs = np.mean([member(m, seed) for m in spec.members], axis=0, dtype=np.float64)
        return probs / probs.sum(axis=1, keepdims=True)  # float32 members sum to 1 ± 1e-7

    if spec.seeds == "pooled":
        return {POOLED: mean(None)}
    return {str(s): mean(s) for s in seeds}


class Ensemble(Entry):
    """The average of its members' probabilities (reuters_rnn.fit.ensembling): with `seeds: each`
    one ensemble per seed, with `seeds: pooled` one over every seed of each model member."""

    section = "ensembles"

    def __init__(self, params: Params, name: str, spec=None) -> None:
        super().__init__(params, name, spec)
        self.seeded = self.spec.seeds == "each"
        from reuters_rnn.fit.entries import of

        self.members = {member: of(params, member) for member in self.spec.members}

    def run_name(self, seed: int | None) -> str:
        """The name of the run a seed gives: the seed's, or POOLED."""
        return POOLED if seed is None else str(seed)

    def _fit(self, split: Split, seed: int | None, memo: Memo | None) -> Fit:
        seeds = tuple(self.params.train.seeds) if seed is None else (seed,)
        fits: dict[str, dict[int | None, Fit]] = {
            name: {
                s: member.fit_predict(split, s, memo) for s in (seeds if member.seeded else (None,))
            }
            for name, member in self.members.items()
        }
        trained: dict[str, dict[int, np.ndarray]] = {
            name: {s: fit.probabilities for s, fit in runs.items() if s is not None}
            for name, runs in fits.items()
            if self.members[name].seeded
        }
        scored = {
            name: runs[None].probabilities
            for name, runs in fits.items()
            if not self.members[name].seeded
        }
        (probabilities,) = average(self.spec, seeds, trained, scored).values()
        return Fit(
            probabilities,
            seconds=sum(fit.seconds for runs in fits.values() for fit in runs.values()),
            weights=sum(fit.weights for runs in fits.values() for fit in runs.values()),
        )
