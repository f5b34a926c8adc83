"""Non-recurrent reference models (`baselines:` in params.yaml): one scikit-learn builder per
baseline kind, fitted on the word ids as documents. The baseline stage and model search's
cross-validation both fit through fit_predict, so a searched setting is the one the stage runs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from reuters_rnn.dataset import NUM_CLASSES
from reuters_rnn.specs import MajoritySpec, TfidfLogregSpec


def tfidf_logreg(spec: TfidfLogregSpec):
    """TF-IDF over word n-grams, then multinomial logistic regression. Newton-CG solves the same
    problem as scikit-learn's default lbfgs in fewer passes over a wide sparse matrix: on a fold
    of the whole set, 21 s vs 44 s with bigrams (105,461 features), 5.1 s vs 8.9 s without."""
    vectorizer = TfidfVectorizer(
        token_pattern=r"\S+",
        ngram_range=(1, spec.ngram_max),
        sublinear_tf=spec.sublinear_tf,
        min_df=spec.min_df,
        max_features=spec.max_features,
    )
    solver = LogisticRegression(C=spec.C, solver="newton-cg", max_iter=spec.max_iter)
    return make_pipeline(vectorizer, solver)


# One builder per baseline kind (specs.BASELINE_KINDS holds their specs).
BUILDERS: dict[type, Callable] = {
    MajoritySpec: lambda spec: DummyClassifier(strategy="most_frequent"),
    TfidfLogregSpec: tfidf_logreg,
}


def as_documents(x: np.ndarray) -> list[str]:
    """Padded (n, steps, 1) word ids -> one space-separated string of ids per newswire."""
    return [" ".join(str(int(w)) for w in row if w) for row in x[..., 0]]


def fit_predict(spec, x_train: np.ndarray, labels: np.ndarray, x_held: np.ndarray) -> np.ndarray:
    """Fit on (x_train, labels); each x_held newswire's probability of every topic."""
    model = BUILDERS[type(spec)](spec)
    model.fit(as_documents(x_train), labels)
    seen = model.predict_proba(as_documents(x_held))
    probabilities = np.zeros((len(seen), NUM_CLASSES))
    probabilities[:, model.classes_] = seen
    return probabilities
