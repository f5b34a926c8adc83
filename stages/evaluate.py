"""evaluate: a trained model + the test split -> metrics JSON and a confusion-matrix CSV.

Accuracy is computed as published: argmax of the softmax vs the label, sklearn accuracy_score.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, log_loss

from stages.atomic import atomic_path, write_json
from stages.params import load_params
from stages.prepare import NUM_CLASSES, load_prepared


def score(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Test metrics from integer labels and (n, classes) predicted probabilities."""
    predicted = probabilities.argmax(axis=1)
    return {
        "accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "f1_macro": round(float(f1_score(labels, predicted, average="macro", zero_division=0)), 4),
        "f1_weighted": round(
            float(f1_score(labels, predicted, average="weighted", zero_division=0)), 4
        ),
        "loss": round(float(log_loss(labels, probabilities, labels=range(NUM_CLASSES))), 4),
    }


def confusion_rows(labels: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """One row per test newswire, the shape DVC's confusion template reads."""
    return pd.DataFrame({"actual": labels, "predicted": predicted})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="a model name under `models:` in params.yaml")
    parser.add_argument("seed", type=int)
    parser.add_argument("data", help="prepared data directory")
    parser.add_argument("model_file", help="the trained .keras model")
    parser.add_argument("train_summary", help="the dvclive summary JSON train wrote for this run")
    parser.add_argument("metrics_out", help="metrics JSON to write")
    parser.add_argument("confusion_out", help="confusion CSV (actual, predicted) to write")
    args = parser.parse_args()
    params = load_params()
    os.environ["KERAS_BACKEND"] = params.train.backend
    import keras

    from stages.models import model_inputs

    arrays = load_prepared(args.data)
    model = keras.models.load_model(args.model_file)
    spec = params.models[args.model]
    probabilities = model.predict(model_inputs(spec, arrays["x_test"]), verbose=0)
    training = json.loads(Path(args.train_summary).read_text())
    metrics = {
        "model": args.model,
        "seed": args.seed,
        **score(arrays["labels_test"], probabilities),
        "params": int(model.count_params()),
        **{
            k: training[k]
            for k in ("train_seconds", "ms_per_epoch", "epochs", "epochs_resumed", "backend")
        },
    }
    write_json(args.metrics_out, metrics)
    with atomic_path(args.confusion_out) as tmp:
        confusion_rows(arrays["labels_test"], probabilities.argmax(axis=1)).to_csv(tmp, index=False)
    print(f"evaluate {args.model} seed {args.seed}: {json.dumps(metrics)}")


if __name__ == "__main__":
    main()
