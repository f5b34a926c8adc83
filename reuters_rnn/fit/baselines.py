"""Non-recurrent reference models (`baselines:` in params.yaml): one scikit-learn builder per
baseline kind, fitted on the word ids as documents. The baseline stage and model search's
cross-validation both fit through fit_predict, so a searched setting is the one the stage runs.

A TF-IDF baseline is two steps, the features (TfidfVectorizer) and the classifier; the search
computes a fold's features once per vectorizer setting and hands them in (`features`), which
gives the same numbers as fitting both steps here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from scipy.special import softmax
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from reuters_rnn.data.dataset import NUM_CLASSES
from reuters_rnn.fit.entry import Entry, Fit, Memo, Split
from reuters_rnn.schema.specs import MajoritySpec, TfidfLogregSpec, TfidfSpec, TfidfSvmSpec


def vectorizer(spec: TfidfSpec) -> TfidfVectorizer:
    """TF-IDF over word n-grams of the word ids (each id one token)."""
    return TfidfVectorizer(
        token_pattern=r"\S+",
        ngram_range=(1, spec.ngram_max),
        sublinear_tf=spec.sublinear_tf,
        min_df=spec.min_df,
        max_features=spec.max_features,
    )


def vectorizer_key(spec) -> tuple | None:
    """What decides a baseline's features (equal keys, equal matrices); None without TF-IDF."""
    if not isinstance(spec, TfidfSpec):
        return None
    return (spec.ngram_max, spec.sublinear_tf, spec.min_df, spec.max_features)


def tfidf_logreg(spec: TfidfLogregSpec) -> LogisticRegression:
    """Multinomial logistic regression. Newton-CG solves the same problem as scikit-learn's
    default lbfgs in fewer passes over a wide sparse matrix (docs/whole-set.md: the solvers)."""
    return LogisticRegression(C=spec.C, solver="newton-cg", max_iter=spec.max_iter)


def tfidf_svm(spec: TfidfSvmSpec) -> LinearSVC:
    """A linear SVM per topic against the rest (liblinear's dual coordinate descent, whose
    shuffled order is seeded: the same fit every time)."""
    weight = None if spec.class_weight == "none" else spec.class_weight
    return LinearSVC(C=spec.C, class_weight=weight, max_iter=spec.max_iter, random_state=0)


# One classifier per baseline kind (specs.BASELINE_KINDS holds their specs).
BUILDERS: dict[type, Callable] = {
    MajoritySpec: lambda spec: DummyClassifier(strategy="most_frequent"),
    TfidfLogregSpec: tfidf_logreg,
    TfidfSvmSpec: tfidf_svm,
}


def has_probabilities(spec) -> bool:
    """Whether a baseline's scores are probabilities (an SVM's are margins: no log loss)."""
    return spec.probabilities


def as_documents(x: np.ndarray) -> list[str]:
    """Padded (n, steps, 1) word ids -> one space-separated string of ids per newswire."""
    return [" ".join(str(int(w)) for w in row if w) for row in x[..., 0]]


def features(spec, x_train: np.ndarray, x_held: np.ndarray) -> tuple:
    """What the classifier fits on and scores: TF-IDF matrices, or the documents themselves."""
    train, held = as_documents(x_train), as_documents(x_held)
    if not isinstance(spec, TfidfSpec):
        return train, held
    tfidf = vectorizer(spec)
    return tfidf.fit_transform(train), tfidf.transform(held)


def fit_predict(
    spec,
    x_train: np.ndarray,
    labels: np.ndarray,
    x_held: np.ndarray,
    fitted_features: tuple | None = None,
) -> tuple[np.ndarray, int]:
    """Fit on (x_train, labels); each x_held newswire's probability of every topic (an SVM's
    softmax of its margins: the same argmax, not calibrated), and the classifier's number of
    weights (coefficients and intercepts). `fitted_features`: this fold's
    `features(spec, x_train, x_held)`, when the caller already has them."""
    train, held = fitted_features or features(spec, x_train, x_held)
    model = BUILDERS[type(spec)](spec)
    model.fit(train, labels)
    if hasattr(model, "predict_proba"):
        seen = model.predict_proba(held)
    else:
        margins = model.decision_function(held)
        if margins.ndim == 1:  # two topics: one margin, for the second
            margins = np.stack([-margins, margins], axis=1)
        seen = softmax(margins, axis=1)
    scores = np.zeros((len(seen), NUM_CLASSES))
    scores[:, model.classes_] = seen
    weights = sum(
        getattr(model, name).size for name in ("coef_", "intercept_") if hasattr(model, name)
    )
    return scores, int(weights)


class Baseline(Entry):
    """A scikit-learn reference model of `baselines:` (reuters_rnn.fit.baselines): deterministic, so
    one fit stands for every seed; a TF-IDF fold's features are kept in the memo."""

    section = "baselines"
    seeded = False

    def _fit(self, split: Split, seed: int | None, memo: Memo | None) -> Fit:
        setting = vectorizer_key(self.spec)
        start = time.perf_counter()
        cached = None
        if memo is not None and setting is not None:
            cached = memo.get("features", (split.key, setting))
            if cached is None:
                cached = features(self.spec, split.x_train, split.x_held)
                memo.put("features", (split.key, setting), cached)
        probabilities, weights = fit_predict(
            self.spec, split.x_train, split.labels_train, split.x_held, cached
        )
        return Fit(probabilities, time.perf_counter() - start, weights)
