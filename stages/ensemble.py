"""ensemble: its members' held-out probabilities (trained models' seeds, baselines) -> the
average's metrics and per-newswire predictions, in evaluate's files, scored like a model.

Each member weighs the same (reuters_rnn.fit.ensembling, through the ensemble's fit_predict in
reuters_rnn.fit.entries): a model member's probabilities are its
seed's (`seeds: each`, one ensemble per seed, what a team would ship) or the mean of its seeds
(`seeds: pooled`, one ensemble). A member's file is read only once its sha256 is the one its
stage recorded.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from reuters_rnn.data.dataset import held_out_name, holdout, load_prepared
from reuters_rnn.data.trained import ModelFileError, read_probabilities, read_scores
from reuters_rnn.evaluation.scoring import score
from reuters_rnn.fit.ensembling import POOLED, Ensemble
from reuters_rnn.fit.entry import Fit, Memo, Split
from reuters_rnn.plumbing.atomic import atomic_path, write_json
from reuters_rnn.plumbing.failure import run_stage
from reuters_rnn.plumbing.stage import begin
from reuters_rnn.schema.params import Params
from reuters_rnn.schema.sections import EnsembleSpec


def costs(
    spec: EnsembleSpec,
    seeds: tuple[int, ...],
    training: dict[str, dict],
    baselines: dict[str, dict] | None = None,
) -> dict:
    """Per run: the weights and training seconds of its members, summed: each model member's
    trainings it uses (one seed, or every seed pooled) and each baseline member's fit (its
    record, `baselines`)."""
    facts = {m: {r["seed"]: r for r in training[m]["seeds"]} for m in spec.members if m in training}
    fitted = [record for m, record in (baselines or {}).items() if m in spec.members]
    runs = {POOLED: seeds} if spec.seeds == "pooled" else {str(s): (s,) for s in seeds}
    summed = {
        run: {
            key: sum(facts[m][s][key] for m in facts for s in used)
            + sum(record.get(key, 0) for record in fitted)
            for key in ("weights", "train_seconds")
        }
        for run, used in runs.items()
    }
    for cost in summed.values():  # as each record gives them: 59.0, not 58.989999999999995
        cost["train_seconds"] = round(cost["train_seconds"], 2)
    return summed


def read_members(
    spec: EnsembleSpec, params: Params, args: argparse.Namespace, labels: np.ndarray
) -> tuple[dict, dict, dict, dict]:
    """Each model member's training facts and probabilities by seed, each baseline's
    probabilities, and each baseline's record (its metrics, weights and seconds)."""
    training, trained, baselines, records = {}, {}, {}, {}
    for name in spec.members:
        if name in params.models:
            path = Path(args.training) / f"{name}.json"
            if not path.exists():
                raise ModelFileError(f"{path}: missing; run `dvc repro train@{name}`")
            training[name] = json.loads(path.read_text())
            trained[name] = {
                run["seed"]: read_probabilities(Path(args.models) / name, run, name, labels)
                for run in training[name]["seeds"]
            }
            missing = sorted(set(params.train.seeds) - set(trained[name]))
            if missing:
                raise ModelFileError(f"{path}: no seed {missing}; run `dvc repro train@{name}`")
        else:
            record = Path(args.baselines) / f"{name}.json"
            if not record.exists():
                raise ModelFileError(f"{record}: missing; run `dvc repro baseline@{name}`")
            recorded = records[name] = json.loads(record.read_text())
            path = Path(args.models) / f"{name}.probabilities.npy"
            baselines[name] = read_scores(path, recorded.get("probabilities_sha256"), name, labels)
    return training, trained, baselines, records


def ensemble_of(
    params: Params, name: str, trained: dict[str, dict], baselines: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The ensemble's probabilities per run: its own fit_predict, whose memo holds the members'
    fits as their stages wrote them (nothing is refitted)."""
    ensemble = Ensemble(params, name)
    held_out = Split(np.empty(0), np.empty(0), np.empty(0), key=("held-out",))
    memo = Memo(fits=sum(len(runs) for runs in trained.values()) + len(baselines) + 2)
    for member, runs in trained.items():
        memo.hold(ensemble.members[member], held_out, {s: Fit(p, 0.0) for s, p in runs.items()})
    for member, probabilities in baselines.items():
        memo.hold(ensemble.members[member], held_out, {None: Fit(probabilities, 0.0)})
    return {
        ensemble.run_name(seed): ensemble.fit_predict(held_out, seed, memo).probabilities
        for seed in ensemble.seeds()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", help="an ensemble name under `ensembles:` in params.yaml")
    parser.add_argument("data", help="prepared data directory")
    parser.add_argument("models", help="the models' folder (each model's seeds, baselines' .npy)")
    parser.add_argument("training", help="the folder of the JSON train wrote per model")
    parser.add_argument("baselines", help="the folder of the JSON baseline wrote per baseline")
    parser.add_argument("metrics_out", help="metrics JSON to write")
    parser.add_argument("predictions_out", help="CSV: each newswire's label and runs' topics")
    stage = begin(parser, "ensemble {name}")
    args, params = stage.args, stage.params
    spec = params.ensembles[args.name]
    labels = holdout(load_prepared(args.data), params.train.validation_split)["labels_test"]
    training, trained, baselines, records = read_members(spec, params, args, labels)
    averaged = ensemble_of(params, args.name, trained, baselines)
    cost = costs(spec, params.train.seeds, training, records)
    runs = {
        run: {**score(labels, probs), **cost[run], "ms_per_epoch": None}
        for run, probs in averaged.items()
    }
    held_out = held_out_name(params.train.validation_split)
    metrics = {"model": args.name, "held_out": held_out, "members": spec.members, "seeds": runs}
    write_json(args.metrics_out, metrics)
    topics = {f"seed-{run}": p.argmax(axis=1) for run, p in averaged.items()}
    with atomic_path(args.predictions_out) as tmp:
        pd.DataFrame({"label": labels, **topics}).to_csv(tmp, index_label="newswire")
    stage.guard.check(args.metrics_out, args.predictions_out)
    accuracies = ", ".join(f"{run} {m['accuracy']:.4f}" for run, m in runs.items())
    print(f"ensemble {args.name} of {', '.join(spec.members)}: {held_out} accuracy {accuracies}")


if __name__ == "__main__":
    run_stage(main, "ensemble")
