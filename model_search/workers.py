"""Running a search: worker processes on one study, one core each, a line per finished trial, and
Ctrl-C that stops every worker and marks their trials for the next run.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from model_search.objective import objective_for
from model_search.search_file import command_space, space_identity
from model_search.settings import Settings
from model_search.space import SearchError
from model_search.study import (
    counted,
    enqueue_current,
    open_storage,
    open_study,
    requeue_interrupted,
    seconds_of,
    state_counts,
    stop_at,
    stop_workers,
    trial_budget,
)
from reuters_rnn.plumbing.backend import end_process, import_keras, use_backend
from reuters_rnn.plumbing.failure import FixableError


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


class Progress:
    """One line per finished trial: its score, the best so far, and the time left for the whole
    study (its trials left at the pace all workers together finished trials in this run)."""

    def __init__(self, name: str, study: optuna.Study, budget: int) -> None:
        self.name, self.budget = name, budget
        self.start = time.monotonic()
        self.done_at_start = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        self.pruner = type(study.pruner).__name__.removesuffix("Pruner").lower()

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        pruned = len(study.get_trials(deepcopy=False, states=(TrialState.PRUNED,)))
        seconds = seconds_of(trial)
        scores = trial.user_attrs.get("accuracies") or [0.0]
        mean = sum(scores) / len(scores)
        spread = (sum((s - mean) ** 2 for s in scores) / len(scores)) ** 0.5
        if trial.state == TrialState.COMPLETE:
            what = f"{mean:.4f} ± {spread:.4f} over {len(scores)} fits"
        elif trial.state == TrialState.PRUNED:
            what = f"pruned after {trial.user_attrs.get('pruned_at', '?')} ({self.pruner})"
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
            f"{done} of {self.budget} complete ({pruned} pruned), about {minutes(left * pace)} "
            "left",
            flush=True,
        )


@dataclass(frozen=True)
class Joined:
    """A worker's (or the run's) study: params, search file, space, storage and study (created
    if new, refused if its trials were scored otherwise), and the training split."""

    params: Any
    search: Any
    space: Any
    storage: Any
    study: Any
    x: Any
    labels: Any


def join_study(args: Settings, worker: int = 0) -> Joined:
    from model_search.cross_validation import training_split

    params, search, space = command_space(args)
    x, labels, data = training_split(args.data)
    identity = {**space_identity(search, args.space, params), "data": data}
    storage = open_storage(args.storage or search.storage, search)
    study = open_study(storage, args.study or args.space, search, space, identity, worker)
    return Joined(params, search, space, storage, study, x, labels)


def work(args: Settings, worker: int) -> None:
    """One worker: load the training split once, then run trials until the study is done."""
    joined = join_study(args, worker)
    params, search, space, study = joined.params, joined.search, joined.space, joined.study
    x, labels = joined.x, joined.labels
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


def _worker(args: Settings, worker: int) -> None:
    """A worker process. Ctrl-C reaches the whole process group: the run's process alone acts on
    it (stopping TensorFlow mid-step from inside is not clean), and says it once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)  # blocked by the run while it started us
    try:
        work(args, worker)
    except FixableError as exc:  # a worker is an entry point: its one line, no traceback
        sys.exit(str(exc))
    end_process()  # its trials are stored: status 0 without TensorFlow's teardown


STOPS = {signal.SIGINT, signal.SIGTERM}


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@contextmanager
def stops_deferred() -> Iterator[None]:
    """Ctrl-C or SIGTERM while the workers start takes effect once all have started: a cut
    inside `Process.start()` would leave a child that no one stops, and that prints a traceback.

    Blocked, the signals wait (and each child starts with them blocked, until `_worker`); one
    that came just before, its Python handler still pending, is only noted. They are unblocked
    before the run's handlers are back: `pthread_sigmask` runs the pending handlers as it
    returns, so a signal that waited, or that another thread of the process took, is noted too."""
    stopped = []
    handlers = {stop: signal.getsignal(stop) for stop in STOPS}
    for stop, handler in handlers.items():
        if handler is not signal.SIG_IGN:  # a background job's ignored SIGINT stays ignored
            signal.signal(stop, lambda signum, _: stopped.append(signum))
    signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)
        for stop, handler in handlers.items():
            signal.signal(stop, handler)
    if stopped:
        raise KeyboardInterrupt


def run(args: Settings) -> None:
    """Prepare the study (current model first, interrupted trials queued again), then run
    `--workers` worker processes on it, one core each."""
    signal.signal(signal.SIGTERM, _interrupt)  # as Ctrl-C: `kill <pid>` stops a background run
    joined = join_study(args)
    params, search, space = joined.params, joined.search, joined.space
    storage, study = joined.storage, joined.study
    enqueue_current(study, params, space)
    requeue_interrupted(study)
    budget = args.trials or trial_budget(space)
    print(
        f"search {study.study_name}: {budget} trials of {search.folds}-fold CV x seeds "
        f"{list(params.train.seeds)} on the training split, {args.workers} worker(s) here",
        flush=True,
    )
    context = multiprocessing.get_context("spawn")  # no Keras state shared between workers
    workers = [context.Process(target=_worker, args=(args, i)) for i in range(args.workers)]
    try:
        with stops_deferred():
            for process in workers:
                process.start()
        for process in workers:
            process.join()
    except KeyboardInterrupt:
        stop_workers(workers, storage, study)
        raise
    failed = [p.exitcode for p in workers if p.exitcode]
    if failed:
        raise SearchError(
            f"search {study.study_name}: {len(failed)} worker(s) failed (exit {failed})"
        )
