"""Faults: a killed training resumes, a backup never crosses runs, DVC's lock stops a second repro."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest

from tests.conftest import DVC, ENV, run, set_params

pytestmark = pytest.mark.pipeline


def start(cmd, repo) -> subprocess.Popen:
    env = {**ENV, "KERAS_HOME": os.environ["KERAS_HOME"], "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        cmd,
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 180) -> str:
    """Read the process's output until a line contains `needle`; the lines read so far."""
    seen, deadline = [], time.monotonic() + timeout
    for line in proc.stdout:
        seen.append(line)
        if needle in line:
            return "".join(seen)
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise AssertionError(f"never saw {needle!r}; output:\n{''.join(seen)[-3000:]}")


def kill_after_epoch(repo, epoch: int, target: str = "train@lstm-1") -> None:
    """`dvc repro <target>` killed with SIGKILL (whole process group) once `epoch` has finished."""
    proc = start([*DVC, "repro", target], repo)
    wait_for_line(proc, f"epoch {epoch + 1}/")  # epoch `epoch` and its backup are complete
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture
def slow_project(project):
    """Enough epochs that a kill lands mid-training."""
    set_params(project, lambda p: p["train"].update(epochs=40))
    run([*DVC, "repro", "prepare"], project)
    return project


def curve_steps(repo, run_name: str) -> list[int]:
    lines = (repo / "metrics/curves" / run_name / "loss.tsv").read_text().splitlines()[1:]
    return [int(line.split("\t")[0]) for line in lines]


def test_killed_training_resumes_from_its_last_epoch(slow_project):
    repo = slow_project
    kill_after_epoch(repo, 5)
    assert not (repo / "models/lstm-1.keras").exists()  # nothing half-written for DVC to cache
    assert not (repo / "metrics/training/lstm-1.json").exists()

    run([*DVC, "repro", "train@lstm-1"], repo)
    summary = json.loads((repo / "metrics/training/lstm-1.json").read_text())
    assert 5 <= summary["epochs_resumed"] < 40
    assert summary["epochs"] == 40
    assert curve_steps(repo, "lstm-1") == list(range(40))  # every epoch logged exactly once
    assert (repo / "models/lstm-1.keras").exists()
    assert not (repo / ".train-backups/lstm-1").exists()  # backup removed after success
    assert "train@lstm-1" not in json.loads(run([*DVC, "status", "--json"], repo).stdout)


def test_a_backup_from_another_spec_is_not_resumed(slow_project):
    repo = slow_project
    kill_after_epoch(repo, 5)
    set_params(repo, lambda p: p["models"]["lstm"].update(units=[7]))
    run([*DVC, "repro", "train@lstm-1"], repo)
    summary = json.loads((repo / "metrics/training/lstm-1.json").read_text())
    assert summary["epochs_resumed"] == 0


def test_resume_false_starts_from_zero(slow_project):
    repo = slow_project
    kill_after_epoch(repo, 5)
    set_params(repo, lambda p: p["train"].update(resume=False))
    run([*DVC, "repro", "train@lstm-1"], repo)
    assert json.loads((repo / "metrics/training/lstm-1.json").read_text())["epochs_resumed"] == 0


def test_second_repro_is_refused_by_dvc_lock_and_first_finishes(slow_project):
    repo = slow_project
    first = start([*DVC, "repro", "train@vanilla_rnn-1"], repo)
    wait_for_line(first, "epoch 2/")
    second = run([*DVC, "repro"], repo, check=False)
    assert second.returncode != 0
    # DVC's lock: the repo lock ("Unable to acquire lock") or, since DVC 3, the per-path rwlock.
    assert re.search(r"Unable to acquire lock|is busy, it is being blocked by", second.stderr)
    first.stdout.read()
    assert first.wait(timeout=300) == 0
    assert "train@vanilla_rnn-1" not in json.loads(run([*DVC, "status", "--json"], repo).stdout)
    assert json.loads((repo / "metrics/training/vanilla_rnn-1.json").read_text())["epochs"] == 40


def test_a_typo_in_params_stops_every_stage_before_work(project):
    set_params(project, lambda p: p["train"].update(epohcs=3))
    result = run([*DVC, "repro"], project, check=False)
    assert result.returncode != 0
    assert "train.epohcs: unknown key (did you mean 'epochs'?)" in result.stdout + result.stderr
    assert not (project / "data/raw/reuters.npz").exists()
