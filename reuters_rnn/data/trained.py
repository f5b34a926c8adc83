"""What the train stage leaves for the stages after it: each seed's model file and its held-out
probabilities, read back only once their sha256 matches what train recorded (evaluate and
ensemble read them alike), and a baseline's probabilities, which ensembles average.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reuters_rnn.data.dataset import NUM_CLASSES, sha256_of
from reuters_rnn.plumbing.failure import InputError

# Beside the seeds in models/<model>/: the training's per-seed facts (sha256 of each file,
# timings) and its learning curves. evaluate publishes both to metrics/ for git.
RECORD = "training.json"
CURVES = "curves.csv"


class ModelFileError(InputError):
    """A trained model's file is missing, damaged, or not the one its train stage wrote."""


def verified(path: Path, expected: str | None, model: str) -> Path:
    """`path` if its sha256 is the one train recorded; else a ModelFileError naming the fix."""
    fix = (
        f"restore it with `dvc checkout --force {path.parent}` (or `dvc pull {path.parent}` from a good "
        f"remote), or retrain it with `dvc repro -f train@{model}`"
    )
    if not path.exists():
        raise ModelFileError(f"{path}: missing; {fix}")
    found = sha256_of(path)
    if found != expected:
        raise ModelFileError(
            f"{path}: sha256 {found} is not the {expected} that train recorded: the file was "
            f"changed or damaged; {fix}"
        )
    return path


def read_probabilities(models_dir: Path, run: dict, model: str, labels: np.ndarray) -> np.ndarray:
    """One seed's held-out probabilities, after its model file and they pass their sha256."""
    seed = run["seed"]
    verified(models_dir / f"seed-{seed}.keras", run["model_sha256"], model)
    path = verified(
        models_dir / f"seed-{seed}.probabilities.npy", run["probabilities_sha256"], model
    )
    probabilities = np.load(path, allow_pickle=False)
    if probabilities.shape != (len(labels), NUM_CLASSES):
        raise ModelFileError(
            f"{path}: shape {probabilities.shape}, expected ({len(labels)}, {NUM_CLASSES}) for "
            f"this held-out split; retrain it with `dvc repro -f train@{model}`"
        )
    return probabilities


def read_scores(path: Path, expected: str | None, name: str, labels: np.ndarray) -> np.ndarray:
    """A baseline's held-out probabilities (one row per newswire), once their sha256 is the one
    its stage recorded (metrics/baselines/<name>.json)."""
    fix = f"rerun it with `dvc repro -f baseline@{name}`"
    if not path.exists():
        raise ModelFileError(f"{path}: missing; {fix}")
    if sha256_of(path) != expected:
        raise ModelFileError(f"{path}: not the file baseline {name} recorded; {fix}")
    scores = np.load(path, allow_pickle=False)
    if scores.shape != (len(labels), NUM_CLASSES):
        raise ModelFileError(
            f"{path}: shape {scores.shape}, expected ({len(labels)}, {NUM_CLASSES}); {fix}"
        )
    return scores
