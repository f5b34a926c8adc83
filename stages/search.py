"""search: a space of search.yaml -> an Optuna study of cross-validated trials, its tracked
results (search/<space>/) and the `dvc exp run` that trains the best trial in the pipeline.

    python -m stages.search run swem                  # 2 workers here (one per core)
    python -m stages.search run swem --storage postgresql://...   # the same on every machine
    python -m stages.search report swem               # trials, plots, paired comparison
    python -m stages.search best swem                 # prints the promotion command

Trials are scored by stages.cross_validation on the training split; the test split is never read.
Not a DVC stage: a search runs for hours on as many machines as a team points at its storage, and
`report` writes what it found as plain files for git and `dvc plots show`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import sys
import time
import warnings
from typing import Any

import optuna
from optuna.trial import TrialState

from stages.backend import import_keras, use_backend
from stages.dataset import DataError
from stages.params import Params, load_params
from stages.search_space import (
    CURRENT,
    Choices,
    GridSpace,
    IntRange,
    SearchFile,
    candidate_model,
    grid_candidates,
    label,
    load_search,
    space_identity,
    space_named,
    spec_for,
    trained_as,
)
from stages.search_study import (
    DONE,
    counted,
    enqueue_current,
    open_storage,
    open_study,
    requeue_interrupted,
    state_counts,
    stop_at,
    stop_workers,
    trial_budget,
)

# Heartbeats and the retry of a dead worker's trial are marked experimental by Optuna; they are
# what distributed search needs, so that notice is not repeated to every user.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
optuna.logging.set_verbosity(optuna.logging.ERROR)  # a line per trial instead (and Ctrl-C once)


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def suggest(trial: optuna.Trial, space) -> tuple[str, dict[str, Any]]:
    """The trial's model and the spec keys it sets."""
    if isinstance(space, GridSpace):
        name = trial.suggest_categorical("candidate", grid_candidates(space))
        return (space.model, {}) if name == CURRENT else candidate_model(space, name)
    values = {}
    for key, distribution in space.keys.items():
        if isinstance(distribution, Choices):
            labels = [label(choice) for choice in distribution.choices]
            picked = trial.suggest_categorical(key, labels)
            values[key] = distribution.choices[labels.index(picked)]
        elif isinstance(distribution, IntRange):
            values[key] = trial.suggest_int(
                key,
                distribution.low,
                distribution.high,
                step=distribution.step,
                log=distribution.log,
            )
        else:
            values[key] = trial.suggest_float(
                key,
                distribution.low,
                distribution.high,
                step=distribution.step,
                log=distribution.log,
            )
    return space.model, values


def objective_for(params: Params, search: SearchFile, space, x, labels):
    """The function Optuna maximizes: mean cross-validated accuracy of the trial's model."""
    from stages.cross_validation import STEPS_PER_FIT, cross_validate

    current = trained_as(params.models[space.model], params)

    def objective(trial: optuna.Trial) -> float:
        model, values = suggest(trial, space)
        spec = spec_for(params, model, values)
        # Which machine and process runs it: a stopped run fails its own running trials.
        where = {"host": socket.gethostname(), "pid": os.getpid(), "group": os.getpgrp()}
        trial.set_user_attr("worker", where)
        trial.set_user_attr("model", model)
        trial.set_user_attr("set", values)
        trial.set_user_attr("current", model == space.model and trained_as(spec, params) == current)

        reported: list[tuple[int, float]] = []

        def report(step: int, accuracy: float) -> bool:
            trial.report(accuracy, step)
            reported.append((step, accuracy))
            return trial.should_prune()

        pruning = space.pruner != "none"
        result = cross_validate(
            spec, params, model, x, labels, search.folds, report if pruning else None
        )
        trial.set_user_attr("accuracies", result["accuracies"])
        trial.set_user_attr("fit_seconds", round(result["fit_seconds"], 2))
        if result["stopped"]:
            fit, epoch = divmod(reported[-1][0], STEPS_PER_FIT)
            trial.set_user_attr("pruned_at", f"fit {fit + 1}, epoch {epoch}: {reported[-1][1]:.4f}")
            raise optuna.TrialPruned()
        return sum(result["accuracies"]) / len(result["accuracies"])

    return objective


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


class Progress:
    """One line per finished trial: its score, the best so far, and the time left for the whole
    study (its trials left at the pace all workers together finished trials in this run)."""

    def __init__(self, name: str, study: optuna.Study, budget: int) -> None:
        self.name, self.budget = name, budget
        self.start = time.monotonic()
        self.done_at_start = len(study.get_trials(deepcopy=False, states=DONE))

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        done = len(study.get_trials(deepcopy=False, states=DONE))
        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
        scores = trial.user_attrs.get("accuracies") or [0.0]
        mean = sum(scores) / len(scores)
        spread = (sum((s - mean) ** 2 for s in scores) / len(scores)) ** 0.5
        if trial.state == TrialState.COMPLETE:
            what = f"{mean:.4f} ± {spread:.4f} over {len(scores)} fits"
        elif trial.state == TrialState.PRUNED:
            what = f"pruned at {trial.user_attrs.get('pruned_at', '?')} (below the median)"
        else:
            what = "failed"
        try:
            best = f"best {study.best_value:.4f} (trial {study.best_trial.number})"
        except ValueError:
            best = "no trial complete yet"
        pace = (time.monotonic() - self.start) / max(1, done - self.done_at_start)
        left = max(0, self.budget - done)
        print(
            f"search {self.name}: trial {trial.number} {what} in {minutes(seconds)}; {best}; "
            f"{done} of {self.budget} done, about {minutes(left * pace)} left",
            flush=True,
        )


def join_study(args: argparse.Namespace, worker: int = 0) -> tuple:
    """params, search file, space, storage and study (created if new, refused if its trials were
    scored otherwise), and the training split: (x, labels)."""
    from stages.cross_validation import training_split

    params = load_params()
    search = load_search(args.search_file, params)
    space = space_named(search, args.space, args.search_file)
    x, labels, data = training_split(args.data)
    identity = space_identity(search, args.space, params) + data
    storage = open_storage(args.storage or search.storage, search)
    study = open_study(storage, args.study or args.space, space, identity, worker)
    return params, search, space, storage, study, (x, labels)


def work(args: argparse.Namespace, worker: int) -> None:
    """One worker: load the training split once, then run trials until the study is done."""
    params, search, space, _, study, (x, labels) = join_study(args, worker)
    use_backend(params.train.backend, threads=1)
    import_keras()
    budget = args.trials or trial_budget(space)
    objective = objective_for(params, search, space, x, labels)
    callbacks = [stop_at(budget), Progress(args.study or args.space, study, budget)]
    while True:
        counts = state_counts(study)
        if counts[TrialState.WAITING] or counted(counts) < budget:
            study.optimize(objective, callbacks=callbacks)
        elif not counts[TrialState.RUNNING]:
            return
        else:
            # The budget counts running trials, so no worker starts one past it. A trial whose
            # worker died counts until its heartbeat is stale; then it is queued to run again.
            time.sleep(search.heartbeat_seconds)
            optuna.storages.fail_stale_trials(study)


def _worker(args: argparse.Namespace, worker: int) -> None:
    """A worker process. Ctrl-C reaches the whole process group: the run's process alone acts on
    it (stopping TensorFlow mid-step from inside is not clean), and says it once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    work(args, worker)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> None:
    """Prepare the study (current model first, interrupted trials queued again), then run
    `--workers` worker processes on it, one core each."""
    params, search, space, storage, study, _ = join_study(args)
    enqueue_current(study, params, space)
    requeue_interrupted(study)
    budget = args.trials or trial_budget(space)
    print(
        f"search {study.study_name}: {budget} trials of {search.folds}-fold CV x seeds "
        f"{list(params.train.seeds)} on the training split, {args.workers} worker(s) here",
        flush=True,
    )
    signal.signal(signal.SIGTERM, _interrupt)  # as Ctrl-C
    context = multiprocessing.get_context("spawn")  # no Keras state shared between workers
    workers = [context.Process(target=_worker, args=(args, i)) for i in range(args.workers)]
    try:
        for process in workers:
            process.start()
        for process in workers:
            process.join()
    except KeyboardInterrupt:
        stop_workers(workers, storage, study)
        raise
    failed = [p.exitcode for p in workers if p.exitcode]
    if failed:
        raise SystemExit(
            f"search {study.study_name}: {len(failed)} worker(s) failed (exit {failed})"
        )


def command_line() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["run", "report", "best"])
    parser.add_argument("space", help="a space under `spaces:` in search.yaml")
    parser.add_argument("--search-file", default="search.yaml")
    parser.add_argument("--storage", help="Optuna storage URL (default: search.yaml's storage)")
    parser.add_argument("--study", help="study name (default: the space's name)")
    parser.add_argument("--data", default="data/prepared", help="prepared data directory")
    parser.add_argument("--workers", type=positive, default=2, help="worker processes here (run)")
    parser.add_argument("--trials", type=positive, help="trials in all (run; default: the space's)")
    parser.add_argument("--out", help="results folder (report; default: search/<study>)")
    return parser


def main() -> None:
    args = command_line().parse_args()
    if args.command == "run":
        try:
            run(args)
        except DataError as exc:
            sys.exit(f"search {args.space}: {exc}")
        except KeyboardInterrupt:
            print(
                f"search {args.space}: interrupted; finished trials are kept in the storage, "
                f"running ones marked failed. `python -m stages.search run {args.space}` "
                "continues the study, running those again first.",
                file=sys.stderr,
            )
            sys.exit(130)
        return
    from stages.search_report import best, report

    (report if args.command == "report" else best)(args)


if __name__ == "__main__":
    main()
