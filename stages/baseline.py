"""baseline: the prepared split -> held-out metrics and per-newswire predictions of a
non-recurrent reference model.

`majority` always predicts the most frequent training topic; `tfidf_logreg` is scikit-learn's
TF-IDF over the word ids followed by logistic regression. Same split, same scoring as evaluate.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from reuters_rnn.atomic import atomic_path, write_json
from reuters_rnn.dataset import NUM_CLASSES, DataError, held_out_name, holdout, load_prepared
from reuters_rnn.failure import run_stage
from reuters_rnn.guard import InputsGuard
from reuters_rnn.params import load_params
from reuters_rnn.scoring import score
from reuters_rnn.specs import MajoritySpec, TfidfLogregSpec

# One builder per baseline kind (params.BASELINE_KINDS holds their specs).
BUILDERS: dict[type, Callable] = {
    MajoritySpec: lambda spec: DummyClassifier(strategy="most_frequent"),
    TfidfLogregSpec: lambda spec: make_pipeline(
        TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, spec.ngram_max), sublinear_tf=True),
        LogisticRegression(C=spec.C, max_iter=spec.max_iter),
    ),
}


def as_documents(x: np.ndarray) -> list[str]:
    """Padded (n, steps, 1) word ids -> one space-separated string of ids per newswire."""
    return [" ".join(str(int(w)) for w in row if w) for row in x[..., 0]]


def run_baseline(spec, arrays: dict[str, np.ndarray]) -> tuple[dict[str, float], np.ndarray]:
    """Fit on the training split, score on the held-out split (probabilities over all topics);
    the metrics and the predicted topic of each held-out newswire."""
    model = BUILDERS[type(spec)](spec)
    model.fit(as_documents(arrays["x_train"]), arrays["labels_train"])
    seen = model.predict_proba(as_documents(arrays["x_test"]))
    probabilities = np.zeros((len(seen), NUM_CLASSES))
    probabilities[:, model.classes_] = seen
    return score(arrays["labels_test"], probabilities), probabilities.argmax(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", help="a baseline name under `baselines:` in params.yaml")
    parser.add_argument("data", help="prepared data directory")
    parser.add_argument("metrics_out", help="metrics JSON to write")
    parser.add_argument("predictions_out", help="CSV: each newswire's label and predicted topic")
    args = parser.parse_args()
    params = load_params()
    guard = InputsGuard(f"baseline {args.name}")
    try:
        arrays = holdout(load_prepared(args.data), params.train.validation_split)
    except DataError as exc:
        raise SystemExit(f"baseline failed: {exc}") from None
    scores, predicted = run_baseline(params.baselines[args.name], arrays)
    metrics = {
        "model": args.name,
        "held_out": held_out_name(params.train.validation_split),
        **scores,
    }
    write_json(args.metrics_out, metrics)
    with atomic_path(args.predictions_out) as tmp:
        frame = pd.DataFrame({"label": arrays["labels_test"], "predicted": predicted})
        frame.to_csv(tmp, index_label="newswire")
    guard.check(args.metrics_out, args.predictions_out)
    print(f"baseline {args.name}: {metrics}")


if __name__ == "__main__":
    run_stage(main, "baseline")
