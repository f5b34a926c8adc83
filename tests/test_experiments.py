"""Team workflows with real DVC: experiments, the queue on two workers, and sharing via remotes."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import DVC, run

pytestmark = pytest.mark.pipeline


def commit_all(repo, message: str) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", message], repo)


def exp_rows(repo) -> list[dict]:
    """`dvc exp show --json` flattened to one dict per experiment (name, params, metrics)."""
    rows = []
    for baseline in json.loads(run([*DVC, "exp", "show", "--json"], repo).stdout):
        for exp in [baseline] + [e for ex in baseline.get("experiments") or [] for e in ex["revs"]]:
            data = exp.get("data") or {}
            rows.append(
                {
                    "name": exp.get("name") or exp.get("rev"),
                    "params": data.get("params", {}).get("params.yaml", {}).get("data", {}),
                    "metrics": {
                        k: v.get("data", {}) for k, v in (data.get("metrics") or {}).items()
                    },
                }
            )
    return rows


def test_share_through_remotes_then_pull_retrains_nothing_and_experiments_travel(
    reproduced_project, tmp_path
):
    project = reproduced_project
    git_remote, dvc_remote = tmp_path / "origin.git", tmp_path / "dvc-storage"
    run(["git", "init", "-q", "--bare", str(git_remote)], tmp_path)
    run([*DVC, "remote", "add", "-d", "shared", str(dvc_remote)], project)
    run(["git", "remote", "add", "origin", str(git_remote)], project)
    commit_all(project, "share through a DVC remote")
    run([*DVC, "push"], project)
    run(["git", "push", "-q", "origin", "HEAD:main"], project)

    clone = tmp_path / "teammate"
    run(["git", "clone", "-q", "-b", "main", str(git_remote), str(clone)], tmp_path)
    run([*DVC, "pull"], clone)
    status = run([*DVC, "status"], clone).stdout
    assert "up to date" in status, status
    lock_before = (clone / "dvc.lock").read_text()
    repro = run([*DVC, "repro"], clone).stdout
    assert "Running stage" not in repro and (clone / "dvc.lock").read_text() == lock_before

    # An experiment made in the first clone reaches the second through the remotes.
    run([*DVC, "exp", "run", "-n", "lstm60", "-S", "models.lstm.units=60"], project)
    diff = json.loads(run([*DVC, "metrics", "diff", "--json"], project).stdout)
    assert (
        diff["metrics/runs/lstm-1.json"]["params"]["new"]
        != diff["metrics/runs/lstm-1.json"]["params"]["old"]
    )
    run([*DVC, "exp", "push", "origin", "lstm60"], project)
    run([*DVC, "exp", "pull", "origin", "lstm60"], clone)
    rows = {row["name"]: row for row in exp_rows(clone)}
    assert "lstm60" in rows
    assert rows["lstm60"]["params"]["models"]["lstm"]["units"] == 60
    assert "metrics/runs/lstm-1.json" in rows["lstm60"]["metrics"]


def test_queued_experiments_run_on_two_workers(reproduced_project):
    project = reproduced_project
    for units in (6, 9):
        run(
            [
                *DVC,
                "exp",
                "run",
                "--queue",
                "-n",
                f"lstm{units}",
                "-S",
                f"models.lstm.units=[{units}]",
            ],
            project,
        )
    run([*DVC, "queue", "start", "-j", "2"], project)
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        status = run([*DVC, "queue", "status"], project).stdout
        if "Running" not in status and "Queued" not in status:
            break
        time.sleep(3)
    assert "Failed" not in status, status
    rows = {row["name"]: row for row in exp_rows(project)}
    for units in (6, 9):
        row = rows[f"lstm{units}"]
        assert row["params"]["models"]["lstm"]["units"] == [units]
        assert row["metrics"]["metrics/runs/lstm-1.json"]["params"] > 0
    run([*DVC, "queue", "stop"], project, check=False)
