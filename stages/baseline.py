"""baseline: the prepared split -> test metrics of a non-recurrent reference model.

`majority` always predicts the most frequent training topic; `tfidf_logreg` is scikit-learn's
TF-IDF over the word ids followed by logistic regression. Same split, same scoring as evaluate.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from stages.atomic import write_json
from stages.evaluate import score
from stages.params import BaselineSpec, load_params
from stages.prepare import NUM_CLASSES, load_prepared


def as_documents(x: np.ndarray) -> list[str]:
    """Padded (n, steps, 1) word ids -> one space-separated string of ids per newswire."""
    return [" ".join(str(int(w)) for w in row if w) for row in x[..., 0]]


def build_baseline(spec: BaselineSpec):
    if spec.kind == "majority":
        return DummyClassifier(strategy="most_frequent")
    return make_pipeline(
        TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, spec.ngram_max), sublinear_tf=True),
        LogisticRegression(C=spec.C, max_iter=spec.max_iter),
    )


def run_baseline(spec: BaselineSpec, arrays: dict[str, np.ndarray]) -> dict[str, float]:
    """Fit on the training split, score on the test split (probabilities over all 46 topics)."""
    model = build_baseline(spec).fit(as_documents(arrays["x_train"]), arrays["labels_train"])
    seen = model.predict_proba(as_documents(arrays["x_test"]))
    probabilities = np.zeros((len(seen), NUM_CLASSES))
    probabilities[:, model.classes_] = seen
    return score(arrays["labels_test"], probabilities)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", help="a baseline name under `baselines:` in params.yaml")
    parser.add_argument("data", help="prepared data directory")
    parser.add_argument("metrics_out", help="metrics JSON to write")
    args = parser.parse_args()
    spec = load_params().baselines[args.name]
    metrics = {"model": args.name, **run_baseline(spec, load_prepared(args.data))}
    write_json(args.metrics_out, metrics)
    print(f"baseline {args.name}: {metrics}")


if __name__ == "__main__":
    main()
