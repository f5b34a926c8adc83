"""baseline: the prepared split -> held-out metrics, per-newswire predictions and probabilities
(for ensembles) of a non-recurrent reference model.

`majority` always predicts the most frequent training topic; `tfidf_logreg` and `tfidf_svm` are
scikit-learn's TF-IDF over the word ids followed by logistic regression or a linear SVM. Same
split, same scoring as evaluate (an SVM's margins are no probabilities: its loss is left empty).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from reuters_rnn.data.dataset import held_out_name, holdout, load_prepared, sha256_of
from reuters_rnn.evaluation.scoring import score
from reuters_rnn.fit.baselines import Baseline, has_probabilities
from reuters_rnn.fit.entry import Fit, Split
from reuters_rnn.plumbing.atomic import atomic_path, write_json
from reuters_rnn.plumbing.failure import run_stage
from reuters_rnn.plumbing.stage import begin


def run_baseline(baseline: Baseline, arrays: dict[str, np.ndarray]) -> tuple[dict, Fit]:
    """Fit on the training split, score on the held-out split; the metrics and the fit (the
    scores of each held-out newswire: probabilities, or an SVM's softmaxed margins)."""
    split = Split(arrays["x_train"], arrays["labels_train"], arrays["x_test"])
    fit = baseline.fit_predict(split, None)
    scores = score(arrays["labels_test"], fit.probabilities)
    if not has_probabilities(baseline.spec):
        scores["loss"] = None
    return scores, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", help="a baseline name under `baselines:` in params.yaml")
    parser.add_argument("data", help="prepared data directory")
    parser.add_argument("metrics_out", help="metrics JSON to write")
    parser.add_argument("predictions_out", help="CSV: each newswire's label and predicted topic")
    parser.add_argument("probabilities_out", help=".npy: each newswire's topic probabilities")
    stage = begin(parser, "baseline {name}")
    args, params = stage.args, stage.params
    arrays = holdout(load_prepared(args.data), params.train.validation_split)
    scores, fit = run_baseline(Baseline(params, args.name), arrays)
    probabilities = fit.probabilities
    with atomic_path(args.probabilities_out) as tmp:
        np.save(tmp, probabilities, allow_pickle=False)
    metrics = {
        "model": args.name,
        "held_out": held_out_name(params.train.validation_split),
        **scores,
        "weights": fit.weights,
        "train_seconds": round(fit.seconds, 2),
        "probabilities_sha256": sha256_of(args.probabilities_out),
    }
    write_json(args.metrics_out, metrics)
    with atomic_path(args.predictions_out) as tmp:
        frame = pd.DataFrame({"label": arrays["labels_test"], "predicted": probabilities.argmax(1)})
        frame.to_csv(tmp, index_label="newswire")
    stage.guard.check(args.metrics_out, args.predictions_out, args.probabilities_out)
    print(f"baseline {args.name}: {metrics}")


if __name__ == "__main__":
    run_stage(main, "baseline")
