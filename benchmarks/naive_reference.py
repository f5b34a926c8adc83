"""The published experiment as a plain Keras script: the naive reference for benchmarks/speed.py.

TensorFlow backend, keras.datasets.reuters.load_data from the Keras cache, pad_sequences, the four
models one after another with model.fit (verbose off), accuracy_score on the test split. Prints one
JSON line: seconds and accuracy per model and in total.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ["KERAS_BACKEND"] = "tensorflow"

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402

MODELS = {
    "vanilla_rnn": (keras.layers.SimpleRNN, 1),
    "stacked_vanilla_rnn": (keras.layers.SimpleRNN, 2),
    "lstm": (keras.layers.LSTM, 1),
    "stacked_lstm": (keras.layers.LSTM, 2),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args()
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = keras.datasets.reuters.load_data(
        num_words=30000, maxlen=50, test_split=0.3
    )
    x_train = keras.utils.pad_sequences(x_train, padding="post")[..., np.newaxis].astype("float32")
    x_test = keras.utils.pad_sequences(x_test, padding="post")[..., np.newaxis].astype("float32")
    y_train_1hot = keras.utils.to_categorical(y_train, 46)
    results = {}
    for name, (layer, depth) in MODELS.items():
        keras.utils.set_random_seed(1)
        t = time.perf_counter()
        model = keras.Sequential([keras.Input(x_train.shape[1:])])
        for i in range(depth):
            model.add(layer(50, return_sequences=i < depth - 1))
        model.add(keras.layers.Dense(46, activation="softmax"))
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=0.001),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        model.fit(x_train, y_train_1hot, epochs=args.epochs, batch_size=50, verbose=0)
        predicted = model.predict(x_test, verbose=0).argmax(axis=1)
        results[name] = {
            "seconds": round(time.perf_counter() - t, 2),
            "accuracy": round(float(accuracy_score(y_test, predicted)), 4),
        }
        print(f"naive {name}: {results[name]}", flush=True)
    print(json.dumps({"total_seconds": round(time.perf_counter() - start, 2), "models": results}))


if __name__ == "__main__":
    main()
