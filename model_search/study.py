"""An Optuna study of a search space: its storage (with heartbeats), sampler and pruner, what
makes its trials comparable, its trial budget across workers, and what interruptions leave.

Shared by every worker of model_search, on any machine that reaches the storage.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import socket
import sqlite3
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from model_search.candidates import current_value, grid_candidates, label
from model_search.space import GridSpace, SearchError, SearchFile, TpeSpace
from reuters_rnn.schema.params import Params

RETRIES = 3  # a trial whose worker died is run again at most this many times


# How long a search waits for a SQLite storage that another process holds locked.
LOCK_SECONDS = 120


def damaged_storage(path: str | Path, exc: BaseException | None) -> SearchError:
    """The one line for a SQLite storage that is not a database (or no longer a whole one)."""
    return SearchError(
        f"search: {path} cannot be read ({exc}): the storage is damaged. Move it aside "
        f"(`mv {shlex.quote(str(path))} {shlex.quote(str(path))}.damaged`) and run again: a new "
        "storage starts empty; the reports committed under search/ are kept."
    )


def wait_until_unlocked(path: Path, seconds: float) -> None:
    """Return once no other process holds the SQLite file `path` locked, saying so while it
    waits; SearchError after `seconds`, or for a file that is no database."""
    start, said = time.monotonic(), False
    while True:
        try:
            with contextlib.closing(sqlite3.connect(path, timeout=0)) as connection:
                connection.execute("BEGIN IMMEDIATE")
                connection.rollback()
            return
        except sqlite3.DatabaseError as exc:
            if "locked" not in str(exc):
                raise damaged_storage(path, exc) from None
        waited = time.monotonic() - start
        if waited >= seconds:
            raise SearchError(
                f"search: {path} stayed locked by another process for {waited:.0f} s; stop that "
                f"process (`fuser {shlex.quote(str(path))}` names it) or wait for it, then run "
                "again"
            )
        if not said:
            print(
                f"search: {path} is locked by another process; waiting up to {seconds:.0f} s",
                flush=True,
            )
            said = True
        time.sleep(0.5)


def open_storage(url: str, search: SearchFile) -> RDBStorage:
    """Optuna's RDB storage (SQLite file or a database server) with heartbeats: a trial whose
    worker stops beating for grace_seconds is marked failed and queued again."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path.parent).close()  # SQLite writes its journal beside it
        if path.exists():
            wait_until_unlocked(path, float(os.environ.get("SEARCH_LOCK_SECONDS") or LOCK_SECONDS))
        kwargs = {"connect_args": {"timeout": 60}}  # several workers write one file
    attempt = 0
    while True:
        try:
            storage = RDBStorage(
                url,
                engine_kwargs=kwargs,
                heartbeat_interval=search.heartbeat_seconds,
                grace_period=search.grace_seconds,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=RETRIES),
            )
            if url.startswith("sqlite:///"):
                immediate_transactions(storage.engine)
            return storage
        except sqlalchemy.exc.DatabaseError as exc:
            if not isinstance(exc, sqlalchemy.exc.IntegrityError | sqlalchemy.exc.OperationalError):
                raise damaged_storage(url.removeprefix("sqlite:///"), exc.orig) from None
            # Workers (or two searches) that start together on an empty database race to create
            # Optuna's tables: the loser finds a row or a table already made ("table ... already
            # exists"), and finds them all made a moment later.
            if attempt == 2:
                raise
            time.sleep(1 + attempt)
            attempt += 1


def immediate_transactions(engine: sqlalchemy.engine.Engine) -> None:
    """Each SQLite transaction takes the file's write lock as it begins (`BEGIN IMMEDIATE`).

    Python's sqlite3 opens a transaction only at the first write, so the read that checks a
    queued trial is still waiting runs outside it: two workers both read "waiting", both mark it
    running and both train it (measured: 4 processes popping 40 queued trials took 57), and the
    second to finish fails with "Cannot tell a COMPLETE trial". SQLAlchemy's recipe for
    serializable SQLite transactions; a database server locks the row instead."""

    @sqlalchemy.event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sqlalchemy.event.listens_for(engine, "begin")
    def _begin_immediate(connection: sqlalchemy.engine.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections already opened reconnect with the listeners


def sampler_for(
    space: TpeSpace | GridSpace, worker: int, done: int = 0
) -> optuna.samplers.BaseSampler:
    """The space's sampler for `worker` joining a study that holds `done` trials."""
    if isinstance(space, GridSpace):
        return optuna.samplers.GridSampler({"candidate": grid_candidates(space)})
    # Each worker draws its own random start-up trials, and so does each run of a continued
    # study: one seed would repeat them (measured: a run continued after 2 trials drew trial 1's
    # setting again as trial 8). A running trial counts as a bad one (constant liar), so workers
    # do not all sample alike.
    return optuna.samplers.TPESampler(
        seed=space.seed + worker + 1000 * done, n_startup_trials=10, constant_liar=True
    )


def pruner_for(space: TpeSpace | GridSpace, search: SearchFile) -> optuna.pruners.BasePruner:
    """The space's pruner, which judges a trial after each fit (model_search.cross_validation)."""
    pruning = search.pruning
    if space.pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=pruning.min_fits, reduction_factor=pruning.reduction_factor
        )
    if space.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=pruning.min_fits, reduction_factor=pruning.reduction_factor
        )
    if space.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=pruning.startup_trials, n_warmup_steps=pruning.warmup_fits
        )
    return optuna.pruners.NopPruner()


def trial_budget(space: TpeSpace | GridSpace) -> int:
    return len(grid_candidates(space)) if isinstance(space, GridSpace) else space.trials


def open_study(
    storage, name: str, search: SearchFile, space, identity: dict, worker: int = 0
) -> optuna.Study:
    """Create or join the study of `space`; refuse to mix trials scored under other settings.
    `identity` (search_file.space_identity and the training data's sha256s) is stored as data."""
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction="maximize",
        sampler=sampler_for(space, worker),
        pruner=pruner_for(space, search),
        load_if_exists=True,
    )
    if done := len(study.get_trials(deepcopy=False)):  # continued: start-up draws of its own
        study.sampler = sampler_for(space, worker, done)
    found = study.user_attrs.get("identity")
    if (
        found is None
        or found == legacy_identity(identity)
        or comparable(found) == comparable(identity)
    ):  # new, or stored as text before
        study.set_user_attr("identity", identity)
    else:
        raise SearchError(
            f"search: study {name!r} in this storage was scored with other settings (space, "
            "folds, seeds, data or the model in params.yaml changed), so its trials would not "
            f"compare with new ones. Run under a new name (--study {name}_2) or delete it: "
            f"`optuna delete-study --study-name {shlex.quote(name)} --storage "
            f"{shlex.quote(str(storage.url))}`"
        )
    return study


def comparable(identity: dict | str) -> dict | str:
    """What decides a trial's score: the identity without the space's budget, pruner and seed
    (a study continues under a larger budget or another pruner)."""
    if not isinstance(identity, dict):
        return identity
    space = {
        k: v for k, v in identity.get("space", {}).items() if k not in ("trials", "pruner", "seed")
    }
    return {**identity, "space": space}


def legacy_identity(identity: dict) -> str:
    """How studies stored their identity before it was data: the JSON text, then the data's
    sha256s (recognized so that such a study is continued, and stored anew as data)."""
    settings = {key: value for key, value in identity.items() if key != "data"}
    return json.dumps(settings, sort_keys=True) + identity["data"]


def enqueue_current(study: optuna.Study, params: Params, space) -> None:
    """A TPE study's first trial is the current model, every other trial's paired reference."""
    if isinstance(space, TpeSpace):
        current = {key: label(current_value(params, space.model, key)) for key in space.keys}
        study.enqueue_trial(current, skip_if_exists=True)


def setting(trial: optuna.trial.FrozenTrial) -> str | None:
    """What a trial tries: a grid's candidate (its grid id, set before the objective draws the
    name), else its parameters, drawn or queued; None for a trial cut before it drew any."""
    if "grid_id" in trial.system_attrs:
        return f"grid {trial.system_attrs['grid_id']}"
    params = trial.params or trial.system_attrs.get("fixed_params")
    return repr(sorted(params.items())) if params else None


def requeue_interrupted(study: optuna.Study) -> None:
    """Queue again the trials an interrupted run left failed (Ctrl-C, a crash) whose settings no
    other trial has scored or queued: a grid would otherwise skip that candidate for good. A trial
    cut before it drew a setting leaves nothing to rerun; a new trial takes its place."""
    trials = study.get_trials(deepcopy=False)
    retried = {t.system_attrs.get("failed_trial") for t in trials}
    covered = {setting(t) for t in trials if t.state != TrialState.FAIL}
    for trial in trials:
        lost = trial.state == TrialState.FAIL and trial.number not in retried
        if lost and setting(trial) is not None and setting(trial) not in covered:
            RetryHeartbeatStaleTrialCallback(max_retry=RETRIES)(study, trial)
            covered.add(setting(trial))


def seconds_of(trial: optuna.trial.FrozenTrial) -> float:
    """How long a finished trial ran."""
    if trial.datetime_complete is None or trial.datetime_start is None:
        return 0.0
    return (trial.datetime_complete - trial.datetime_start).total_seconds()


def score_of(trial: optuna.trial.FrozenTrial) -> float:
    """A complete trial's value (Optuna types it optional: a pruned trial has none)."""
    return float("nan") if trial.value is None else float(trial.value)


def state_counts(study: optuna.Study) -> Counter:
    return Counter(trial.state for trial in study.get_trials(deepcopy=False))


# What the budget counts: trials at full fidelity (every fit run), and running ones, which may
# become such; a pruned trial, stopped after a few fits, does not use it.
BUDGETED = (TrialState.COMPLETE, TrialState.RUNNING)


def counted(counts: Counter) -> int:
    """Trials that use the budget (BUDGETED)."""
    return sum(counts[state] for state in BUDGETED)


def stop_at(budget: int) -> optuna.study.MaxTrialsCallback:
    """Stop a worker's loop once the complete and running trials reach the budget."""
    return optuna.study.MaxTrialsCallback(budget, states=BUDGETED)


def stop_workers(workers: list, storage: RDBStorage, study: optuna.Study) -> None:
    """Kill the workers and mark their running trials failed, for the next run to queue again.

    A worker killed between Optuna's creating a trial and the objective's first line leaves a
    running trial that names no worker, and no heartbeat would ever fail it: a live worker
    anywhere names its trial within milliseconds, so one still unnamed a second after the kill
    was one of these workers'."""
    started = [process for process in workers if process.pid is not None]
    for process in started:
        process.kill()
        process.join()
    pids = {process.pid for process in started}
    unnamed = {t.number for t in study.get_trials(deepcopy=False) if "worker" not in t.user_attrs}
    time.sleep(1)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker", {})
        ours = worker.get("host") == socket.gethostname() and worker.get("pid") in pids
        if ours or (not worker and trial.number in unnamed):
            storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
