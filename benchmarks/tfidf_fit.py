"""TF-IDF + logistic regression on the whole set: seconds per fit by solver and features, on the
first fold of model search's 5-fold cross-validation (7,185 training newswires, 1,797 held out).

Newton-CG (the baseline's solver) against scikit-learn's default lbfgs and saga, on the same
features; prints Markdown rows with each solver's ratio to lbfgs. Needs whole_set's prepared data
(`cd whole_set && dvc repro prepare`). One thread, as a search worker runs.

    python benchmarks/tfidf_fit.py --solvers lbfgs newton-cg   # about 1.5 minutes, 2-core x86 CPU
    python benchmarks/tfidf_fit.py --settings 1,1,1.0 2,2,10.0   # ngram_max,min_df,C
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
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    x, labels, _ = training_split(DATA)
    train, held = folds(len(x), 5)[0]
    documents = np.array(as_documents(x), dtype=object)
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


if __name__ == "__main__":
    main()
