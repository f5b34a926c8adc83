"""Variations on the chosen `swem` model, scored by model_selection.py's cross-validation.

Each candidate changes one thing of the `swem` model in params.yaml (as committed: mean and max
of 64-dimensional word embeddings, label smoothing 0.2, 30 epochs at learning rate 0.003):
regularization (word dropout, feature dropout, a hidden layer), capacity (a linear bag-of-words
term, four members averaged in one model), training (epochs, smoothing) and the embeddings'
start, including word vectors learned without labels from the newswires the dataset drops for
length (a PPMI matrix of word pairs in a window of five, reduced by SVD: never the training or
test newswires). None of the changes is in the params schema: this script builds its own Keras
models. Same folds, seeds and table as model_selection.py; the test split is never loaded. Run
after `dvc repro prepare`:

    python benchmarks/model_exploration.py   # about 12 minutes on a 2-core x86 CPU (JAX)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from model_selection import folds, print_table, training_split  # noqa: E402

from stages.backend import import_keras, use_backend  # noqa: E402
from stages.dataset import NUM_CLASSES  # noqa: E402
from stages.params import Params, load_params  # noqa: E402

CANDIDATES = {  # the first is the reference of the paired differences
    "swem as chosen": {},
    "label smoothing 0.3": {"label_smoothing": 0.3},
    "60 epochs": {"epochs": 60},
    "hidden layer 128 (relu, dropout 0.3)": {"hidden": 128},
    "word dropout 0.2 (whole words)": {"word_dropout": 0.2},
    "feature dropout 0.2 (SpatialDropout1D)": {"feature_dropout": 0.2},
    "plus a linear bag-of-words term": {"wide": True},
    "4 members averaged in one model": {"members": 4},
    "embeddings start normal (sd 0.05)": {"init": "random_normal"},
    "embeddings start at zero": {"init": "zeros"},
    "PPMI word vectors, fine-tuned": {"ppmi_scale": 1.0},
    "PPMI word vectors x3, fine-tuned": {"ppmi_scale": 3.0},
    "PPMI word vectors frozen, hidden layer 256": {
        "ppmi_scale": 1.0,
        "frozen": True,
        "hidden": 256,
    },
}
WINDOW = 5  # words on each side that count as a pair


def swem_settings(params: Params) -> dict:
    """The chosen model's settings from params.yaml, which each candidate changes one of."""
    spec = params.models["swem"]
    return {
        "embedding_dim": spec.embedding_dim,
        "pooling": spec.pooling,
        "label_smoothing": spec.label_smoothing,
        "epochs": params.epochs("swem"),
        "learning_rate": params.learning_rate("swem"),
    }


def unlabelled_vectors(num_words: int, maxlen: int, dimensions: int) -> np.ndarray:
    """(num_words, dimensions) word vectors from the newswires too long for the dataset (maxlen ids or
    more with the start mark, which load_data drops: neither training nor test text): SVD of the positive PMI of word pairs at most
    WINDOW apart (context counts smoothed by ^0.75); ids are mapped as load_data maps them."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import svds

    from stages.prepare import INDEX_FROM, OOV_CHAR, read_raw

    xs, _ = read_raw("data/raw/reuters.npz", load_params().data.sha256)
    pairs = []
    for words in xs:
        if len(words) + 1 < maxlen:  # + the start mark: this newswire is in the dataset
            continue
        ids = np.asarray(words) + INDEX_FROM
        ids[ids >= num_words] = OOV_CHAR
        pairs += [(ids[:-d], ids[d:]) for d in range(1, WINDOW + 1)]
    first, second = (np.concatenate(side) for side in zip(*pairs, strict=True))
    real = (first > OOV_CHAR) & (second > OOV_CHAR)
    counts = sp.coo_matrix(
        (np.ones(real.sum(), np.float32), (first[real], second[real])), shape=(num_words,) * 2
    ).tocsr()
    counts = (counts + counts.T).tocoo()
    rows = np.asarray(counts.sum(axis=1)).ravel()
    contexts = np.asarray(counts.sum(axis=0)).ravel() ** 0.75
    pmi = np.log(counts.data * contexts.sum() / (rows[counts.row] * contexts[counts.col]))
    keep = pmi > 0
    ppmi = sp.csr_matrix(
        (pmi[keep].astype(np.float32), (counts.row[keep], counts.col[keep])),
        shape=(num_words,) * 2,
    )
    u, s, _ = svds(ppmi, k=dimensions)
    return (u * np.sqrt(s)).astype(np.float32)


def build(keras, options: dict, vectors: np.ndarray | None, steps: int, num_words: int):
    """swem with the candidate's one change, compiled."""
    from stages.models import POOLING_LAYERS

    inputs = keras.Input((steps,), dtype="int32")

    def features():
        init = options.get("init", "uniform")
        if "ppmi_scale" in options:
            init = keras.initializers.Constant(vectors * options["ppmi_scale"])
        words = keras.layers.Embedding(
            num_words,
            options["embedding_dim"],
            mask_zero=True,
            embeddings_initializer=init,
            trainable=not options.get("frozen"),
        )(inputs)
        if options.get("word_dropout"):
            words = keras.layers.Dropout(options["word_dropout"], noise_shape=(None, steps, 1))(
                words
            )
        if options.get("feature_dropout"):
            words = keras.layers.SpatialDropout1D(options["feature_dropout"])(words)
        pooled = [POOLING_LAYERS[name]()(words) for name in options["pooling"]]
        x = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate()(pooled)
        if options.get("hidden"):
            x = keras.layers.Dense(options["hidden"], activation="relu")(x)
            x = keras.layers.Dropout(0.3)(x)
        return x

    members = options.get("members", 1)
    if members > 1:
        heads = [
            keras.layers.Dense(NUM_CLASSES, activation="softmax")(features())
            for _ in range(members)
        ]
        outputs = keras.layers.Average()(heads)
    else:
        logits = keras.layers.Dense(NUM_CLASSES)(features())
        if options.get("wide"):
            bag = keras.layers.Embedding(num_words, NUM_CLASSES, mask_zero=True)(inputs)
            logits = keras.layers.Add()([logits, keras.layers.GlobalAveragePooling1D()(bag)])
        outputs = keras.layers.Activation("softmax")(logits)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(options["learning_rate"]),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=options["label_smoothing"]),
    )
    return model


def cross_validate(name: str, change: dict, seeds: list[int], backend: str, vectors):
    """Validation accuracy of every (seed, fold), in that order, and seconds per fit."""
    use_backend(backend, threads=1)
    keras = import_keras()
    params = load_params()
    options = {**swem_settings(params), **change}
    x, labels = training_split()
    x = x[..., 0].astype("int32")
    onehot = np.eye(NUM_CLASSES, dtype="float32")[labels]
    accuracies, start = [], time.perf_counter()
    for seed in seeds:
        for train, held in folds(len(x)):
            keras.utils.set_random_seed(seed)
            model = build(keras, options, vectors, x.shape[1], params.data.num_words)
            model.fit(
                x[train],
                onehot[train],
                epochs=options["epochs"],
                batch_size=params.train.batch_size,
                verbose=0,
            )
            predicted = model.predict(x[held], verbose=0).argmax(axis=1)
            accuracies.append(float(np.mean(predicted == labels[held])))
    return name, accuracies, (time.perf_counter() - start) / len(accuracies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--backend", default="jax", help="jax (faster here) | tensorflow")
    args = parser.parse_args()
    params = load_params()
    dimensions = params.models["swem"].embedding_dim
    vectors = unlabelled_vectors(params.data.num_words, params.data.maxlen, dimensions)
    results = Parallel(n_jobs=2, backend="loky")(
        delayed(cross_validate)(name, change, args.seeds, args.backend, vectors)
        for name, change in CANDIDATES.items()
    )
    print_table(results, args.seeds)


if __name__ == "__main__":
    main()
