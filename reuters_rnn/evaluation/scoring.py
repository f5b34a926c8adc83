"""The metrics and their names: the one list that evaluate, baseline and report all read.

Adding a metric is one entry in METRICS. Accuracy is computed as published: argmax of the
predicted probabilities against the label, sklearn's accuracy_score.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss

from reuters_rnn.data.dataset import NUM_CLASSES

Metric = Callable[[np.ndarray, np.ndarray], float]

METRICS: dict[str, Metric] = {
    "accuracy": lambda labels, probs: accuracy_score(labels, probs.argmax(axis=1)),
    # F1 macro averages the 46 topics equally (rare topics count); weighted follows their share.
    "f1_macro": lambda labels, probs: f1_score(
        labels, probs.argmax(axis=1), average="macro", zero_division=0
    ),
    "f1_weighted": lambda labels, probs: f1_score(
        labels, probs.argmax(axis=1), average="weighted", zero_division=0
    ),
    "loss": lambda labels, probs: log_loss(labels, probs, labels=range(NUM_CLASSES)),
}


def score(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Every metric in METRICS from integer labels and (n, classes) probabilities, 4 decimals."""
    return {
        name: round(float(metric(labels, probabilities)), 4) for name, metric in METRICS.items()
    }
