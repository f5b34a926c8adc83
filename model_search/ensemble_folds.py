"""An ensemble's cross-validation: on each (seed, fold) fit, the average of its members' held-out
probabilities (reuters_rnn.ensembling, as the ensemble stage averages them), scored like a model.

A member's fits are the ones its own trial made in this worker (a grid that holds the current
model and its ensembles runs them in one worker: `--workers 1`), or are made here, by the same
functions, when the worker has none; and a model's trial after its ensemble's reuses them.
"""

from __future__ import annotations

import numpy as np

from model_search.candidates import entry
from model_search.cross_validation import (
    HELD_OUT,
    cross_validate,
    cross_validate_baseline,
    fits_key,
    folds,
)
from reuters_rnn.ensembling import POOLED, average
from reuters_rnn.params import Params
from reuters_rnn.sections import EnsembleSpec


def member_fits(
    params: Params, name: str, x: np.ndarray, labels: np.ndarray, k: int
) -> tuple[dict[tuple[int | None, int], np.ndarray], float]:
    """A member's held-out probabilities by (seed, fold) (seed None for a baseline), and the
    seconds its fits took (when this worker made them, for its own trial or now)."""
    spec = entry(params, name)
    key = fits_key(x, k, spec, params)
    seeds = [None] if name in params.baselines else list(params.train.seeds)
    wanted = [(seed, fold) for seed in seeds for fold in range(k)]
    if name in params.baselines:
        result = cross_validate_baseline(spec, params, x, labels, k)
    else:  # the worker's earlier cross-validation of this spec, or a new one
        result = cross_validate(spec, params, name, x, labels, k)
    probabilities = {fit: HELD_OUT[(*key, *fit)] for fit in wanted}
    return probabilities, result["fit_seconds"]


def cross_validate_ensemble(
    spec: EnsembleSpec, params: Params, x: np.ndarray, labels: np.ndarray, k: int
) -> dict:
    """Every (seed, fold) held-out accuracy of the ensemble, seed-major, pairing fit for fit with
    a model's trial; a pooled ensemble has one per fold, standing for every seed's."""
    seeds = params.train.seeds
    found = {name: member_fits(params, name, x, labels, k) for name in spec.members}
    fits = {name: probabilities for name, (probabilities, _) in found.items()}
    baselines = [name for name in spec.members if name in params.baselines]
    by_fold = []
    for fold, (_, held) in enumerate(folds(len(x), k)):
        trained = {
            name: {seed: runs[(seed, fold)] for seed in seeds}
            for name, runs in fits.items()
            if name not in baselines
        }
        scored = {name: fits[name][(None, fold)] for name in baselines}
        runs = average(spec, seeds, trained, scored)
        by_fold.append(
            {run: float((p.argmax(axis=1) == labels[held]).mean()) for run, p in runs.items()}
        )
    if spec.seeds == "pooled":
        accuracies = [fold_runs[POOLED] for fold_runs in by_fold] * len(seeds)
    else:
        accuracies = [fold_runs[str(seed)] for seed in seeds for fold_runs in by_fold]
    return {
        "accuracies": accuracies,
        "losses": [],
        "fit_seconds": sum(seconds for _, seconds in found.values()),  # its members' fits
        "fits": len(accuracies),
        "stopped": False,
    }
