"""Model selection without the test split: 5-fold cross-validation on the training split only.

Each candidate is a model spec in params.yaml's format (plus its epochs and learning rate); folds
are every fifth training newswire (deterministic). Prints mean ± std validation accuracy and
seconds per fold, with TF-IDF + logistic regression on the same folds as the reference. The test
split is never loaded. Run after `dvc repro prepare`:

    python benchmarks/model_selection.py            # about 6 minutes on a 2-core x86 CPU
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stages.backend import import_keras, use_backend  # noqa: E402
from stages.params import load_params, parse_params  # noqa: E402

FOLDS = 5
AVG = {"kind": "averaged_embedding", "embedding_dim": 64, "epochs": 30, "learning_rate": 0.003}
CANDIDATES = {
    "avg_embedding 64, 30 epochs (chosen)": AVG,
    "avg_embedding 64, 60 epochs": {**AVG, "epochs": 60},
    "avg_embedding 128": {**AVG, "embedding_dim": 128},
    "avg_embedding 64, dropout 0.3": {**AVG, "dropout": 0.3, "epochs": 60},
    "avg_embedding 64 + 50k hashed bigrams": {**AVG, "bigram_buckets": 50000, "epochs": 60},
    "embedding_lstm 32/32, 100 epochs (chosen)": {
        "cell": "lstm",
        "units": [32],
        "embedding_dim": 32,
        "epochs": 100,
    },
    "embedding_gru 32/32, 100 epochs": {
        "cell": "gru",
        "units": [32],
        "embedding_dim": 32,
        "epochs": 100,
    },
}


def training_split() -> tuple[np.ndarray, np.ndarray]:
    """Only the training arrays: this script never reads the test split."""
    return np.load("data/prepared/x_train.npy"), np.load("data/prepared/labels_train.npy")


def folds(n: int):
    for k in range(FOLDS):
        held = np.arange(k, n, FOLDS)
        yield np.setdiff1d(np.arange(n), held), held


def cross_validate(name: str, raw_spec: dict) -> tuple[str, list[float], float]:
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
    for train, held in folds(len(x)):
        keras.utils.set_random_seed(1)
        model = build_model("candidate", spec, x.shape[1], 46, params.data.num_words)
        steps = math.ceil(len(train) / params.train.batch_size)
        compile_model(model, params.learning_rate("candidate"), steps)
        model.fit(
            model_inputs(spec, x[train]),
            onehot[train],
            epochs=params.epochs("candidate"),
            batch_size=params.train.batch_size,
            verbose=0,
        )
        predicted = model.predict(model_inputs(spec, x[held]), verbose=0).argmax(axis=1)
        accuracies.append(float(np.mean(predicted == labels[held])))
    return name, accuracies, (time.perf_counter() - start) / FOLDS


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


def main() -> None:
    results = Parallel(n_jobs=2, backend="loky")(
        delayed(cross_validate)(name, spec) for name, spec in CANDIDATES.items()
    )
    print(f"| candidate ({FOLDS}-fold CV on the training split) | validation accuracy | s/fold |")
    print("| --- | ---: | ---: |")
    for name, accuracies, seconds in results:
        print(f"| {name} | {np.mean(accuracies):.4f} ± {np.std(accuracies):.4f} | {seconds:.1f} |")
    reference = tfidf_reference()
    print(f"| baseline tfidf_logreg | {np.mean(reference):.4f} ± {np.std(reference):.4f} | |")


if __name__ == "__main__":
    main()
