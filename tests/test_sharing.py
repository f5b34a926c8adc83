"""A team shares through a real S3 server (SeaweedFS on 127.0.0.1), with the README's commands:
push and pull, experiments that travel, plots of two experiments, models fetched as artifacts,
credentials that stay out of git, and remote faults that end in time with DVC's own message."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.dvc_runner import dvc_command, dvc_in_process
from tests.s3_store import BUCKET, S3Store, free_ports
from tests.tiny_project import DVC, ENV, PROJECT, commit_all, run, set_params

pytestmark = pytest.mark.pipeline
REMOTE_URL = f"s3://{BUCKET}/reuters-rnn"
README = (PROJECT / "README.md").read_text()
# The recipe as the README gives it (`<...>` filled in by the test); each line is checked to be
# there word for word.
RECIPE = [
    f"dvc remote add -d shared {REMOTE_URL}",
    "dvc remote modify shared endpointurl <endpoint>",
    "dvc remote modify shared connect_timeout 5",
    "dvc remote modify shared read_timeout 5",
]
CREDENTIALS = [
    "dvc remote modify --local shared access_key_id <access-key-id>",
    "dvc remote modify --local shared secret_access_key <secret-access-key>",
]
TIMEOUT_ENV = {"AWS_MAX_ATTEMPTS": "1"}  # the README: `export AWS_MAX_ATTEMPTS=1`
CAPTURE = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}


def exp_rows(repo: Path) -> dict[str, dict]:
    """`dvc exp show --json` as {name: {params, metrics}} (report.json is the one metrics file)."""
    rows = {}
    for baseline in json.loads(run([*DVC, "exp", "show", "--json"], repo).stdout):
        for exp in [baseline] + [e for ex in baseline.get("experiments") or [] for e in ex["revs"]]:
            data = exp.get("data") or {}
            rows[exp.get("name") or exp.get("rev")] = {
                "params": data.get("params", {}).get("params.yaml", {}).get("data", {}),
                "metrics": data.get("metrics", {}).get("metrics/report.json", {}).get("data", {}),
            }
    return rows


def fill(line: str, store: S3Store) -> str:
    """A README line with the test server's endpoint and keys for its `<...>` placeholders."""
    values = {
        "endpoint": store.endpoint,
        "access-key-id": store.access_key,
        "secret-access-key": store.secret_key,
    }
    for name, value in values.items():
        line = line.replace(f"<{name}>", value)
    return line


def sh(line: str, cwd: Path, check: bool = True, timeout: float = 300, **env: str):
    """One README line through the shell, in the project's environment; (result, seconds)."""
    start = time.monotonic()
    env = {**ENV, "KERAS_HOME": os.environ.get("KERAS_HOME", ""), **TIMEOUT_ENV, **env}
    command = dvc_command(line)
    if command:  # one DVC command: no shell needed
        result = dvc_in_process(command[len(DVC) :], cwd, env)
    else:
        result = subprocess.run(
            line, shell=True, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
        )
    if check and result.returncode != 0:
        raise AssertionError(f"{line} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result, time.monotonic() - start


def set_up_remote(repo: Path, store: S3Store) -> None:
    for line in RECIPE + CREDENTIALS:
        sh(fill(line, store), repo)


def share(project: Path, store: S3Store, origin: Path) -> None:
    """Teammate A: the README's recipe, then code to git and data + models to S3."""
    run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], origin.parent)
    set_up_remote(project, store)
    commit_all(project, "Share the DVC cache on S3")
    run(["git", "remote", "add", "origin", str(origin)], project)
    sh("dvc push && git push -q origin HEAD:main", project)


def clone(origin: Path, dest: Path, store: S3Store) -> Path:
    run(["git", "clone", "-q", "-b", "main", str(origin), str(dest)], dest.parent)
    for line in CREDENTIALS:
        sh(fill(line, store), dest)
    return dest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_readme_gives_the_recipe_the_tests_run():
    for line in RECIPE + CREDENTIALS + ["export AWS_MAX_ATTEMPTS=1", 'pip install -e ".[s3]"']:
        assert line in README, line


def test_every_model_is_an_artifact_of_its_trained_seeds():
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    artifacts = yaml.safe_load((PROJECT / "dvc.yaml").read_text())["artifacts"]
    assert list(artifacts) == list(params["models"])
    for name, artifact in artifacts.items():
        assert artifact["path"] == f"models/{name}" and artifact["type"] == "model"
        assert artifact["desc"] and artifact["labels"]


def test_keys_stay_in_the_ignored_local_config(reproduced_project, s3_store):
    set_up_remote(reproduced_project, s3_store)
    committed = (reproduced_project / ".dvc/config").read_text()
    assert s3_store.endpoint in committed and "read_timeout = 5" in committed
    assert s3_store.access_key not in committed and s3_store.secret_key not in committed
    local = (reproduced_project / ".dvc/config.local").read_text()
    assert s3_store.secret_key in local
    run(["git", "check-ignore", "-q", ".dvc/config.local"], reproduced_project)
    # The project's own committed config names no key either.
    assert "access_key" not in (PROJECT / ".dvc/config").read_text()


def test_a_team_shares_a_sweep_run_two_at_a_time_and_its_models_through_s3(
    reproduced_project, s3_store, tmp_path
):
    project, origin = reproduced_project, tmp_path / "origin.git"
    # A's project keeps the one model the sweep varies (a training less in each experiment).
    set_params(
        project,
        lambda p: (
            p["models"].pop("vanilla_rnn"),
            p["report"].update(comparisons=[], published={}),
        ),
    )
    assert "Running stage 'train@" not in sh("dvc repro", project)[0].stdout
    share(project, s3_store, origin)

    # Teammate B: clone, pull, and everything matches dvc.lock; nothing retrains.
    teammate = clone(origin, tmp_path / "teammate", s3_store)
    sh("dvc pull", teammate)
    assert "up to date" in sh("dvc status", teammate)[0].stdout
    lock = (teammate / "dvc.lock").read_text()
    assert "Running stage" not in sh("dvc repro", teammate)[0].stdout
    assert (teammate / "dvc.lock").read_text() == lock

    # A sweeps lstm's units as a grid in DVC's queue, two at a time, scored on a validation
    # split of the training split, and pushes both; B pulls, compares and applies one.
    sh(
        "dvc exp run --queue -S 'models.lstm.units=[4],[6]' -S train.validation_split=0.2",
        project,
    )
    # The queue's workers inherit the command's output: captured, it would hold the call until
    # they exit, 10 s idle after the last experiment (DVC's queue docs).
    sh("dvc queue start -j 2 >/dev/null 2>&1", project)
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        status = sh("dvc queue status", project)[0].stdout
        if "Running" not in status and "Queued" not in status:
            break
        time.sleep(1)  # a status call costs little in this process (dvc_in_process)
    assert "Failed" not in status and status.count("Success") == 2, status
    names = {
        row["params"]["models"]["lstm"]["units"][0]: name
        for name, row in exp_rows(project).items()
        if row["params"]["train"]["validation_split"] == 0.2
    }
    assert sorted(names) == [4, 6]
    shown = sh("dvc exp show --csv --sort-by metrics/report.json:lstm --sort-order desc", project)
    lines = shown[0].stdout.splitlines()
    column = lines[0].split(",").index("lstm")
    values = [line.split(",")[column] for line in lines[1:] if line.split(",")[column]]
    assert len(values) >= 3 and values[-2:] == sorted(values[-2:], reverse=True), values
    sh(f"dvc exp push origin {names[4]} {names[6]}", project)
    sh(f"dvc exp pull origin {names[4]} {names[6]}", teammate)
    # DVC's run-cache travels too (docs/sharing.md): B runs an experiment A has run and pushed,
    # and nothing trains: DVC restores A's training, pulling its models.
    sh("dvc push --run-cache", project)
    sh("dvc pull --run-cache", teammate)
    seen = sh(
        "dvc exp run --pull -S 'models.lstm.units=[4]' -S train.validation_split=0.2", teammate
    )
    output = seen[0].stdout + seen[0].stderr
    assert "Stage 'train@lstm' is cached - skipping run" in output, output
    assert "train lstm seed" not in output  # no training line: nothing trained
    rows = exp_rows(teammate)
    for units in (4, 6):
        assert rows[names[units]]["params"]["models"]["lstm"]["units"] == [units]
        assert 0 <= rows[names[units]]["metrics"]["lstm"] <= 1
    sh(f"dvc exp apply {names[6]}", teammate)
    sh("dvc pull", teammate)  # the experiment's trained models, from S3
    assert "Running stage" not in sh("dvc repro", teammate)[0].stdout  # nothing to train
    runs = json.loads((teammate / "metrics/runs/lstm.json").read_text())
    assert runs["held_out"] == "validation"  # the sweep never scored on the test split
    assert "validation accuracy over seeds" in (teammate / "metrics/report.md").read_text()
    sh(f"dvc exp apply {names[6]}", project)
    sh("dvc checkout", project)
    assert sha256(teammate / "models/lstm/seed-1.keras") == sha256(
        project / "models/lstm/seed-1.keras"  # B has what A trained
    )
    sh(f"dvc plots diff {names[4]} {names[6]} -o plots-diff", teammate)
    page = (teammate / "plots-diff/index.html").read_text()
    assert names[4] in page and names[6] in page and "lstm: accuracy and loss per epoch" in page
    assert "datum.rev + ', '" in page  # each experiment's curves drawn apart, named by it

    # A registers the committed lstm as version 1.0.0; anyone fetches that model alone.
    sh('git tag -a lstm@v1.0.0 -m "the published LSTM" HEAD', project)
    sh("git push -q origin lstm@v1.0.0", project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    keys = {"AWS_ACCESS_KEY_ID": s3_store.access_key, "AWS_SECRET_ACCESS_KEY": s3_store.secret_key}
    sh(f"dvc artifacts get {origin} lstm", elsewhere, **keys)
    assert sorted(p.name for p in (elsewhere / "lstm").iterdir()) == [
        "curves.csv",
        "seed-1.keras",
        "seed-1.probabilities.npy",
        "training.json",
    ]
    committed = json.loads(run(["git", "show", "HEAD:metrics/training/lstm.json"], project).stdout)
    assert sha256(elsewhere / "lstm/seed-1.keras") == committed["seeds"][0]["model_sha256"]
    assert not (elsewhere / ".dvc").exists() and list(elsewhere.iterdir()) == [elsewhere / "lstm"]
    sh(f"dvc artifacts get {origin} lstm --rev v1.0.0 -o pinned", elsewhere, **keys)
    import keras

    import reuters_rnn.fit.models  # noqa: F401 (its layers, as the README says)

    model = keras.models.load_model(elsewhere / "pinned/seed-1.keras")
    assert model.name == "lstm" and model.output_shape == (None, 46)


def test_remote_faults_end_in_seconds_and_a_frozen_server_within_a_minute(
    reproduced_project, s3_store, second_s3_store, tmp_path
):
    """A wrong secret, an unknown key, a server that is down: `dvc push` and `dvc pull` fail
    within seconds with DVC's own message; a server that accepts connections and never answers
    (a second one, frozen once it holds the project's data) fails them within a minute. Each
    fault in its own clone, all side by side: each mostly waits on the network."""
    project, origin = reproduced_project, tmp_path / "origin.git"
    share(project, s3_store, origin)
    frozen = second_s3_store
    (closed_port,) = free_ports(1)  # nothing listens there: a server that is down
    settings = {
        "wrong secret": "secret_access_key not-the-right-one",
        "unknown key": "access_key_id not-the-right-one",
        "server down": f"endpointurl http://127.0.0.1:{closed_port}",
        "frozen server": f"endpointurl {frozen.endpoint}",
    }
    repos = {}
    for fault, setting in settings.items():
        repos[fault] = clone(origin, tmp_path / fault.replace(" ", "_"), s3_store)
        sh(f"dvc remote modify --local shared {setting}", repos[fault])
    sh(f"dvc remote modify --local shared {settings['frozen server']}", project)
    sh("dvc push", project)  # the frozen server holds what the project holds
    for repo in [
        project,
        *(repos[fault] for fault in ("wrong secret", "unknown key", "server down")),
    ]:
        (repo / "extra.txt").write_text("a change to push\n")
        sh("dvc add -q extra.txt", repo)
    push, pull = ["push"], ["pull", "--force"]
    # fault: (its clone, its commands in turn, what DVC says, seconds each may take)
    faults = {
        "wrong secret": (repos["wrong secret"], [push, pull], "Forbidden", 30),
        "unknown key": (repos["unknown key"], [push, pull], "Forbidden", 30),
        "server down": (
            repos["server down"],
            [push, pull],
            "Could not connect to the endpoint URL",
            30,
        ),
        "frozen push": (project, [push], "Read timeout on endpoint URL", 60),
        # One file: a pull waits that long again for each directory it fetches (README).
        "frozen pull": (
            repos["frozen server"],
            [["pull", "data/raw/reuters.npz"]],
            "Read timeout on endpoint URL",
            60,
        ),
    }
    results: dict[str, list] = {fault: [] for fault in faults}

    def in_turn(fault: str) -> None:
        repo, commands, *_ = faults[fault]
        for command in commands:
            start = time.monotonic()
            proc = subprocess.Popen([*DVC, *command], cwd=repo, env=env, **CAPTURE)
            stderr = proc.communicate(timeout=120)[1]
            results[fault].append((command[0], proc.returncode, time.monotonic() - start, stderr))

    env = {**ENV, **TIMEOUT_ENV}
    frozen.signal(signal.SIGSTOP)  # it accepts connections and never answers
    threads = [threading.Thread(target=in_turn, args=(fault,)) for fault in faults]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for fault, (_, commands, message, limit) in faults.items():
        assert len(results[fault]) == len(commands), (fault, results[fault])
        for command, returncode, seconds, stderr in results[fault]:
            assert returncode != 0 and seconds < limit, (fault, command, seconds)
            assert message in stderr, (fault, command, stderr)


def cache_files(repo: Path) -> dict[str, str]:
    cache = repo / ".dvc/cache"
    return {str(p.relative_to(cache)): sha256(p) for p in cache.rglob("*") if p.is_file()}


def test_a_push_cut_off_by_a_killed_server_completes_on_the_next_push(
    reproduced_project, s3_store, tmp_path
):
    project = reproduced_project
    share(project, s3_store, tmp_path / "origin.git")
    blobs = project / "blobs"
    blobs.mkdir()
    for i in range(60):
        (blobs / f"{i}.bin").write_bytes(os.urandom(1_000_000))
    sh("dvc add -q blobs", project)
    commit_all(project, "60 MB of blobs")
    sh("git push -q origin HEAD:main", project)
    before = cache_files(project)
    push = subprocess.Popen(
        [*DVC, "push", "-j", "2"],
        cwd=project,
        env={**ENV, **TIMEOUT_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    data = s3_store.directory / "data"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and push.poll() is None:
        stored = sum(p.stat().st_size for p in data.rglob("*.dat"))
        if stored > 10_000_000:  # some of the 60 MB are in: cut it off
            break
        time.sleep(0.05)
    s3_store.signal(signal.SIGKILL)
    s3_store.process.wait()
    output = push.communicate(timeout=120)[0]
    assert push.returncode != 0, f"the push finished before the server was killed:\n{output}"
    assert cache_files(project) == before  # the local cache lost nothing
    assert "up to date" in sh("dvc status", project)[0].stdout

    s3_store.start()  # same ports, same data directory
    sh("dvc push", project)
    assert "Cache and remote 'shared' are in sync" in sh("dvc status --cloud", project)[0].stdout
    teammate = clone(tmp_path / "origin.git", tmp_path / "teammate", s3_store)
    sh("dvc pull blobs", teammate)
    assert all(
        sha256(teammate / "blobs" / f"{i}.bin") == sha256(blobs / f"{i}.bin") for i in range(60)
    )
