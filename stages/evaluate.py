"""evaluate: one model's trained seeds + the held-out labels -> metrics JSON, confusion counts and
each seed's prediction per newswire (for the report's paired comparisons); and the training's
record and curves from the model's folder, published for git (train's outputs are all in DVC's
cache, so that its run-cache can restore them anywhere).

Train predicts the held-out split where the model already is and records the sha256 of the model
and of those probabilities; evaluate checks both files against that record before reading them,
then scores them as published: argmax vs the label, sklearn's accuracy_score (no Keras needed).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from reuters_rnn.data.dataset import held_out_name, holdout, load_prepared
from reuters_rnn.data.trained import CURVES, RECORD, ModelFileError, read_probabilities
from reuters_rnn.evaluation.scoring import score
from reuters_rnn.plumbing.atomic import atomic_path, write_json
from reuters_rnn.plumbing.failure import run_stage
from reuters_rnn.plumbing.stage import begin


def confusion_counts(labels: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """(actual, predicted, count) for every pair that occurs."""
    pairs = pd.DataFrame({"actual": labels, "predicted": predicted})
    return pairs.value_counts().rename("count").reset_index().sort_values(["actual", "predicted"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="a model name under `models:` in params.yaml")
    parser.add_argument("data", help="prepared data directory")
    parser.add_argument("models_dir", help="the model's trained seeds, e.g. models/lstm")
    parser.add_argument("metrics_out", help="metrics JSON to write")
    parser.add_argument("confusion_out", help="confusion counts CSV (seeds summed)")
    parser.add_argument("predictions_out", help="CSV: each newswire's label and seeds' topics")
    parser.add_argument("training_out", help="the training's per-seed facts, for git")
    parser.add_argument("curves_out", help="the training's learning curves, for git and plots")
    stage = begin(parser, "evaluate {model}")
    args, params = stage.args, stage.params
    labels = holdout(load_prepared(args.data), params.train.validation_split)["labels_test"]
    record = Path(args.models_dir) / RECORD
    if not record.exists():
        raise ModelFileError(
            f"{record}: missing; restore it with `dvc checkout --force {args.models_dir}`, "
            f"or retrain with `dvc repro -f train@{args.model}`"
        )
    runs = json.loads(record.read_text())["seeds"]
    probabilities = [read_probabilities(Path(args.models_dir), r, args.model, labels) for r in runs]
    seeds = {
        str(run["seed"]): {**score(labels, probs), "weights": run["weights"]}
        for run, probs in zip(runs, probabilities, strict=True)
    }
    metrics = {
        "model": args.model,
        "held_out": held_out_name(params.train.validation_split),
        "seeds": seeds,
    }
    write_json(args.metrics_out, metrics)
    predicted = np.concatenate([probs.argmax(axis=1) for probs in probabilities])
    with atomic_path(args.confusion_out) as tmp:
        confusion_counts(np.tile(labels, len(runs)), predicted).to_csv(tmp, index=False)
    topics = {
        f"seed-{run['seed']}": p.argmax(axis=1) for run, p in zip(runs, probabilities, strict=True)
    }
    with atomic_path(args.predictions_out) as tmp:
        pd.DataFrame({"label": labels, **topics}).to_csv(tmp, index_label="newswire")
    # The training's record and curves, as train left them beside the seeds, for git.
    for source, target in ((RECORD, args.training_out), (CURVES, args.curves_out)):
        with atomic_path(target) as tmp:
            shutil.copyfile(Path(args.models_dir) / source, tmp)
    outputs = (args.metrics_out, args.confusion_out, args.predictions_out)
    stage.guard.check(*outputs, args.training_out, args.curves_out)
    accuracies = ", ".join(f"seed {s} {m['accuracy']:.4f}" for s, m in seeds.items())
    print(f"evaluate {args.model}: {metrics['held_out']} accuracy {accuracies}")


if __name__ == "__main__":
    run_stage(main, "evaluate")
