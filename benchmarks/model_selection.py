"""Model selection without the test split: repeated 5-fold cross-validation on the training split.

Each candidate is a model spec in params.yaml's format (plus its epochs and learning rate); folds
are every fifth training newswire (deterministic), each trained once per seed. Prints mean ± std
validation accuracy over all folds and seeds, the paired difference from the first candidate
(same folds, same seeds) with its t-test p-value, and seconds per fit, with TF-IDF + logistic
regression on the same folds as the reference. The test split is never loaded. Run after
`dvc repro prepare`:

    python benchmarks/model_selection.py            # about 15 minutes on a 2-core x86 CPU
    python benchmarks/model_selection.py --seeds 1  # one fit per fold, a third of that
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stages.backend import import_keras, use_backend  # noqa: E402
from stages.params import load_params, parse_params  # noqa: E402

FOLDS = 5
MEAN = {"kind": "pooled_embedding", "embedding_dim": 64, "epochs": 30, "learning_rate": 0.003}
BOTH = {**MEAN, "pooling": ["mean", "max"]}
EMBEDDING_RNN = {"units": [32], "embedding_dim": 32, "epochs": 100}
CANDIDATES = {  # the first is the reference of the paired differences
    "mean pooling 64, 30 epochs (fastText-style)": MEAN,
    "mean pooling 64, label smoothing 0.1": {**MEAN, "label_smoothing": 0.1},
    "mean + max pooling 64 (SWEM-concat)": BOTH,
    "mean + max pooling 64, label smoothing 0.1": {**BOTH, "label_smoothing": 0.1},
    "mean + max pooling 64, label smoothing 0.2 (chosen: swem)": {**BOTH, "label_smoothing": 0.2},
    "mean + max pooling 128, label smoothing 0.1": {
        **BOTH,
        "embedding_dim": 128,
        "label_smoothing": 0.1,
    },
    "embedding LSTM 32/32, 100 epochs (chosen: embedding_lstm)": {**EMBEDDING_RNN, "cell": "lstm"},
    "embedding GRU 32/32, 100 epochs": {**EMBEDDING_RNN, "cell": "gru"},
}


def training_split() -> tuple[np.ndarray, np.ndarray]:
    """Only the training arrays: this script never reads the test split."""
    return np.load("data/prepared/x_train.npy"), np.load("data/prepared/labels_train.npy")


def folds(n: int):
    for k in range(FOLDS):
        held = np.arange(k, n, FOLDS)
        yield np.setdiff1d(np.arange(n), held), held


def cross_validate(name: str, raw_spec: dict, seeds: list[int]) -> tuple[str, list[float], float]:
    """Validation accuracy of every (seed, fold), in that order, and seconds per fit."""
    use_backend("tensorflow", threads=1)
    keras = import_keras()
    from stages.models import build_model, compile_model, model_inputs

    params = load_params()
    raw = {**params.model_dump(), "models": {"candidate": raw_spec}, "report": {}}
    params = parse_params(raw)
    spec = params.models["candidate"]
    x, labels = training_split()
    onehot = np.eye(46, dtype="float32")[labels]
    accuracies, start = [], time.perf_counter()
    for seed in seeds:
        for train, held in folds(len(x)):
            keras.utils.set_random_seed(seed)
            model = build_model("candidate", spec, x.shape[1], 46, params.data.num_words)
            steps = math.ceil(len(train) / params.train.batch_size)
            learning_rate = params.learning_rate("candidate")
            compile_model(model, learning_rate, steps, label_smoothing=spec.label_smoothing)
            model.fit(
                model_inputs(spec, x[train]),
                onehot[train],
                epochs=params.epochs("candidate"),
                batch_size=params.train.batch_size,
                verbose=0,
            )
            predicted = model.predict(model_inputs(spec, x[held]), verbose=0).argmax(axis=1)
            accuracies.append(float(np.mean(predicted == labels[held])))
    return name, accuracies, (time.perf_counter() - start) / len(accuracies)


def tfidf_reference() -> list[float]:
    from stages.baseline import BUILDERS, as_documents

    spec = load_params().baselines["tfidf_logreg"]
    x, labels = training_split()
    documents = np.array(as_documents(x))
    accuracies = []
    for train, held in folds(len(x)):
        model = BUILDERS[type(spec)](spec).fit(documents[train], labels[train])
        accuracies.append(float(np.mean(model.predict(documents[held]) == labels[held])))
    return accuracies


def print_table(results: list[tuple[str, list[float], float]], seeds: list[int]) -> None:
    """Markdown: each candidate's validation accuracy, its paired difference from the first
    candidate (same folds and seeds) with the t-test's p, seconds per fit, then TF-IDF + LR."""
    reference = np.array(results[0][1])
    print(
        f"| candidate ({FOLDS}-fold CV × seeds {seeds}, training split only) "
        "| validation accuracy | vs first (paired) | p | s/fit |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, accuracies, seconds in results:
        scores = np.array(accuracies)
        difference = scores - reference
        p = stats.ttest_rel(scores, reference).pvalue if difference.any() else 1.0
        print(
            f"| {name} | {scores.mean():.4f} ± {scores.std():.4f} | {difference.mean():+.4f} "
            f"| {p:.3f} | {seconds:.1f} |"
        )
    tfidf = tfidf_reference()
    print(
        f"| baseline tfidf_logreg (per fold) | {np.mean(tfidf):.4f} ± {np.std(tfidf):.4f} | | | |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    seeds = parser.parse_args().seeds
    results = Parallel(n_jobs=2, backend="loky")(
        delayed(cross_validate)(name, spec, seeds) for name, spec in CANDIDATES.items()
    )
    print_table(results, seeds)


if __name__ == "__main__":
    main()
