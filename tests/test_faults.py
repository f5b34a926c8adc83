"""Faults: a killed training resumes, a backup never crosses runs, one training per run, a bad
params file deletes nothing, a mid-run edit records nothing, damaged inputs are refused by name."""

from __future__ import annotations

import json
import os
import re
import signal
import time

import pytest

from tests.tiny_project import (
    DVC,
    TRAIN_LSTM,
    commit_all,
    lock,
    run,
    set_params,
    stale,
    start,
    wait_for_line,
)

pytestmark = pytest.mark.pipeline


def kill_after_epoch(repo, epoch: int, target: str = "train@lstm") -> None:
    """`dvc repro <target>` killed with SIGKILL (whole process group) after `epoch` shows."""
    proc = start([*DVC, "repro", target], repo)
    wait_for_line(proc, f"epoch {epoch}/")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(1)  # let the OS release the killed workers' locks


@pytest.fixture
def slow_project(reproduced_project):
    """The tiny run with enough epochs that a kill lands mid-training, a progress line every
    epoch and a backup every other one: every training is stale, the prepared data is not."""
    set_params(reproduced_project, lambda p: p["train"].update(epochs=24, checkpoint_every=2))
    return reproduced_project


def curve_epochs(repo, model: str) -> list[int]:
    lines = (repo / "models" / model / "curves.csv").read_text().splitlines()[1:]
    return [int(line.split(",")[1]) for line in lines if line.split(",")[2] == "train"]


def training(repo, model: str = "lstm") -> dict:
    return json.loads((repo / "models" / model / "training.json").read_text())["seeds"][0]


def test_a_killed_training_resumes_from_its_last_backup(slow_project):
    """Killed with SIGKILL: nothing half-written, the last recorded outputs intact; the next
    `dvc repro` resumes and logs every epoch exactly once.
    Which backups a training resumes (its own, with `resume` on) is tested in
    test_run_state.py."""
    repo = slow_project
    kill_after_epoch(repo, 9)
    # DVC removed the stage's outputs before it ran; nothing half-written took their place (a
    # SIGKILL leaves the run's own temporary folder, models/.lstm.tmp-<pid>, which git ignores).
    assert not (repo / "models/lstm").exists()
    run([*DVC, "repro", "train@lstm"], repo)
    summary = training(repo)
    assert 8 <= summary["epochs_resumed"] < 24 and summary["epochs_resumed"] % 2 == 0
    assert curve_epochs(repo, "lstm") == list(range(1, 25))  # every epoch logged exactly once
    assert (repo / "models/lstm/seed-1.keras").exists()
    assert not (repo / ".train-backups/lstm-1").exists()  # backup removed after success
    assert "train@lstm" not in stale(repo)


def test_while_a_run_trains_a_second_repro_and_a_second_process_on_it_are_refused(slow_project):
    """One running `dvc repro train@lstm`: a second `dvc repro` is refused by DVC's lock, and a
    second process on the same run exits with a clear message while the first trains on."""
    repo = slow_project
    set_params(repo, lambda p: p["train"].update(epochs=1000))  # killed below, long before
    first = start([*DVC, "repro", "train@lstm"], repo)
    wait_for_line(first, "epoch 2/")
    second = run([*DVC, "repro"], repo, check=False)
    assert second.returncode != 0
    assert re.search(r"Unable to acquire lock|is busy, it is being blocked by", second.stderr)
    second = run(TRAIN_LSTM, repo, check=False)
    assert second.returncode != 0
    assert re.search(r"another process \(pid \d+\) is training this run", second.stderr)
    assert "epoch" in first.stdout.readline()  # the first one trains on, undisturbed
    assert first.poll() is None
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()


def test_params_edited_mid_run_record_nothing(slow_project):
    repo = slow_project
    commit_all(repo, "the slow run's params, committed")
    proc = start([*DVC, "repro", "train@lstm"], repo)
    wait_for_line(proc, "epoch 2/")
    set_params(repo, lambda p: p["models"]["lstm"].update(units=[20]))
    recorded = lock(repo)["train@lstm"]
    output = proc.stdout.read()
    assert proc.wait(timeout=300) != 0
    assert "train lstm: inputs changed while it ran: models.lstm.units [50] → [20]" in output
    assert lock(repo)["train@lstm"] == recorded  # DVC recorded nothing new
    # What a second `dvc exp run` does to the first (it writes its -S before DVC refuses it):
    # the message says so and how to go back; the trained seeds are kept, and reused.
    assert "another `dvc exp run` in this workspace wrote its -S values" in output
    (back,) = re.findall(r"`(git checkout HEAD -- params.yaml)`", output)
    run(["bash", "-c", back], repo)
    again = run([*DVC, "repro", "train@lstm"], repo).stdout
    assert "seeds [1] trained before with these inputs; kept" in again


def test_a_typo_deletes_nothing_and_fixing_it_reruns_nothing(reproduced_project):
    repo = reproduced_project
    outputs = ["models/lstm/seed-1.keras", "metrics/training/lstm.json", "metrics/runs/lstm.json"]
    set_params(repo, lambda p: p["train"].update(epohcs=p["train"].pop("epochs")))
    result = run([*DVC, "repro"], repo, check=False)
    assert result.returncode != 0
    assert "train.epohcs: unknown key (did you mean 'epochs'?)" in result.stdout + result.stderr
    assert all((repo / path).exists() for path in outputs)

    set_params(repo, lambda p: p["train"].update(epochs=p["train"].pop("epohcs")))
    again = run([*DVC, "repro"], repo).stdout
    assert re.findall(r"Running stage '([^']+)'", again) == ["validate"]
    assert stale(repo) == set()


def test_an_unknown_section_is_refused_even_when_everything_is_up_to_date(reproduced_project):
    repo = reproduced_project
    (repo / "params.yaml").write_text((repo / "params.yaml").read_text() + "foo: 1\n")
    result = run([*DVC, "repro"], repo, check=False)
    assert result.returncode != 0 and "foo: unknown key" in result.stdout + result.stderr


def test_a_missing_params_file_is_named(reproduced_project):
    (reproduced_project / "params.yaml").unlink()
    result = run([*DVC, "repro"], reproduced_project, check=False)
    assert result.returncode != 0 and "'params.yaml' does not exist" in result.stderr


def test_a_bad_experiment_value_deletes_nothing(reproduced_project):
    repo = reproduced_project
    result = run([*DVC, "exp", "run", "-S", "train.epochs=-1"], repo, check=False)
    assert result.returncode != 0
    assert "train.epochs: -1 is not allowed" in result.stdout + result.stderr
    assert (repo / "models/lstm/seed-1.keras").exists()
    # The message's way back, run exactly as it reads: the committed params, nothing else to do.
    (advice,) = re.findall(r"go back to the committed file: `([^`]+)`", result.stderr)
    run(["bash", "-c", advice], repo)
    assert run(["git", "status", "--porcelain", "params.yaml"], repo).stdout == ""


def test_a_changed_prepared_array_is_refused_by_name(reproduced_project):
    import numpy as np

    labels = reproduced_project / "data/prepared/labels_test.npy"
    changed = np.load(labels)
    changed[:] = 3
    np.save(labels, changed)
    result = run([*DVC, "repro", "-f", "-s", "evaluate@lstm"], reproduced_project, check=False)
    assert result.returncode != 0
    assert "labels_test.npy: sha256" in result.stderr and "does not match" in result.stderr
    # Each way back the message names, run exactly as written, in this state.
    (back,) = re.findall(r"the committed ones come back with `([^`]+)`", result.stderr)
    assert back == (
        "git checkout HEAD -- metrics/confusion/lstm.csv metrics/curves/lstm.csv "
        "metrics/predictions/lstm.csv metrics/runs/lstm.json metrics/training/lstm.json"
    )
    run(["bash", "-c", back], reproduced_project)
    assert run(["git", "status", "--porcelain", "metrics"], reproduced_project).stdout == ""
    rebuild, restore = re.findall(r"`(dvc [^`]+)`", result.stderr)[:2]
    assert (rebuild, restore) == ("dvc repro -f prepare", "dvc checkout --force data/prepared")
    run(["bash", "-c", restore], reproduced_project)
    run([*DVC, "repro", "-f", "-s", "evaluate@lstm"], reproduced_project)
    np.save(labels, changed)
    run(["bash", "-c", rebuild], reproduced_project)
    run([*DVC, "repro", "-f", "-s", "evaluate@lstm"], reproduced_project)


def test_a_damaged_model_file_is_refused_by_name(reproduced_project):
    model = reproduced_project / "models/lstm/seed-1.keras"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    result = run([*DVC, "repro", "-f", "-s", "evaluate@lstm"], reproduced_project, check=False)
    assert result.returncode != 0
    assert "models/lstm/seed-1.keras: sha256" in result.stderr
    assert "dvc repro -f train@lstm" in result.stderr
