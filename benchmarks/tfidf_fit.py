"""TF-IDF + logistic regression on the whole set: seconds per fit by solver and features, on the
first fold of model search's 5-fold cross-validation (7,185 training newswires, 1,797 held out).

Newton-CG (the baseline's solver) against scikit-learn's default lbfgs and saga, on the same
features; prints Markdown rows with each solver's ratio to lbfgs. Needs whole_set's prepared data
(`cd whole_set && dvc repro prepare`). One thread, as a search worker runs.

    python benchmarks/tfidf_fit.py --solvers lbfgs newton-cg   # about 1.5 minutes, 2-core x86 CPU
    python benchmarks/tfidf_fit.py --settings 1,1,1.0 2,2,10.0   # ngram_max,min_df,C

`--warm C1 C2 ...` asks instead whether warm starts along C would make a search's trials cheaper:
each C fitted cold (as the baseline stage fits it) and started from the previous C's solution,
with the seconds, Newton iterations, accuracy and held-out predictions that differ.

    python benchmarks/tfidf_fit.py --warm 10 100 1000 4246   # words and pairs; about 5 minutes
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from model_search.cross_validation import folds, training_split  # noqa: E402
from reuters_rnn.fit.baselines import as_documents  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "whole_set" / "data" / "prepared"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settings", nargs="+", default=["1,1,10.0", "2,2,10.0"])
    parser.add_argument("--solvers", nargs="+", default=["lbfgs", "newton-cg", "saga"])
    parser.add_argument("--warm", nargs="+", type=float, help="Cs in increasing order")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    x, labels, _ = training_split(DATA)
    train, held = folds(len(x), 5)[0]
    documents = np.array(as_documents(x), dtype=object)
    if args.warm:
        warm_path(documents, labels, train, held, args.warm)
        return
    print("| ngram_max | min_df | C | features | solver | fit s | vs lbfgs | held-out accuracy |")
    print("| --: | --: | --: | --: | :-- | --: | --: | --: |")
    for setting in args.settings:
        ngram, min_df, c = setting.split(",")
        vectorizer = TfidfVectorizer(
            token_pattern=r"\S+", ngram_range=(1, int(ngram)), sublinear_tf=True, min_df=int(min_df)
        )
        features = vectorizer.fit_transform(documents[train])
        scored = vectorizer.transform(documents[held])
        reference = None
        for solver in args.solvers:
            start = time.perf_counter()
            model = LogisticRegression(C=float(c), solver=solver, max_iter=2000)
            model.fit(features, labels[train])
            seconds = time.perf_counter() - start
            reference = reference or seconds
            accuracy = (model.predict(scored) == labels[held]).mean()
            print(
                f"| {ngram} | {min_df} | {c} | {features.shape[1]:,} | {solver} | {seconds:.1f} "
                f"| {seconds / reference:.2f} | {accuracy:.4f} |",
                flush=True,
            )


def warm_path(documents, labels, train, held, cs: list[float]) -> None:
    """The tuned setting's features (words and pairs, sublinear, min_df 2), newton-cg at each C
    cold, then started from the previous C's solution (scikit-learn's warm_start)."""
    vectorizer = TfidfVectorizer(
        token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True, min_df=2
    )
    features = vectorizer.fit_transform(documents[train])
    scored = vectorizer.transform(documents[held])
    print(
        f"{features.shape[1]:,} features, fold 0 ({len(train):,} newswires, {len(held):,} held out)"
    )
    print(
        "| C | cold s | cold iterations | cold accuracy | warm s | warm iterations | warm accuracy | predictions that differ |"
    )
    print("| --: | --: | --: | --: | --: | --: | --: | --: |")
    previous = None
    for c in cs:
        start = time.perf_counter()
        cold = LogisticRegression(C=c, solver="newton-cg", max_iter=2000)
        cold.fit(features, labels[train])
        cold_seconds = time.perf_counter() - start
        predicted = cold.predict(scored)
        row = f"| {c:g} | {cold_seconds:.1f} | {cold.n_iter_[0]} | {(predicted == labels[held]).mean():.4f} |"
        if previous is None:
            row += " | | | |"
        else:
            warm = LogisticRegression(C=c, solver="newton-cg", max_iter=2000, warm_start=True)
            warm.coef_, warm.intercept_ = previous.coef_.copy(), previous.intercept_.copy()
            start = time.perf_counter()
            warm.fit(features, labels[train])
            warm_seconds = time.perf_counter() - start
            started = warm.predict(scored)
            row += (
                f" {warm_seconds:.1f} | {warm.n_iter_[0]} | {(started == labels[held]).mean():.4f}"
                f" | {(started != predicted).sum()} |"
            )
        print(row, flush=True)
        previous = cold


if __name__ == "__main__":
    main()
