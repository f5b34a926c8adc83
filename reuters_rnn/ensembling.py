"""What an ensemble is: the average of its members' held-out probabilities, each member weighing
the same. The ensemble stage averages what train and baseline wrote; model search averages the
same members' fold fits, so an ensemble's cross-validation scores what the stage scores.
"""

from __future__ import annotations

import numpy as np

from reuters_rnn.sections import EnsembleSpec

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
