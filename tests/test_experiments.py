"""A grid sweep with real DVC: two workers, scored on the validation split (sharing through a
real S3 remote is in test_sharing.py)."""

from __future__ import annotations

import json
import time

import pytest

from tests.tiny_project import DVC, run

pytestmark = pytest.mark.pipeline


def exp_rows(repo) -> dict[str, dict]:
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


def test_a_grid_sweep_runs_two_at_a_time_and_scores_on_the_validation_split(reproduced_project):
    project = reproduced_project
    run(
        [
            *DVC,
            "exp",
            "run",
            "--queue",
            "-S",
            "models.lstm.units=[4],[6]",
            "-S",
            "train.validation_split=0.2",
        ],
        project,
    )
    run([*DVC, "queue", "start", "-j", "2"], project)
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        status = run([*DVC, "queue", "status"], project).stdout
        if "Running" not in status and "Queued" not in status:
            break
        time.sleep(6)  # each status call starts DVC: fewer leave the CPU to the two workers
    assert "Failed" not in status and status.count("Success") == 2, status
    swept = [
        row
        for row in exp_rows(project).values()
        if row["params"]["train"]["validation_split"] == 0.2
    ]
    assert sorted(row["params"]["models"]["lstm"]["units"] for row in swept) == [[4], [6]]
    assert all(0 <= float(row["metrics"]["lstm"]) <= 1 for row in swept)
    shown = run(
        [
            *DVC,
            "exp",
            "show",
            "--csv",
            "--sort-by",
            "metrics/report.json:lstm",
            "--sort-order",
            "desc",
        ],
        project,
    ).stdout.splitlines()
    column = shown[0].split(",").index("lstm")
    values = [line.split(",")[column] for line in shown[1:] if line.split(",")[column]]
    assert len(values) >= 3 and values[-2:] == sorted(values[-2:], reverse=True), values
    run(
        [*DVC, "exp", "apply", next(n for n, r in exp_rows(project).items() if r in swept)], project
    )
    runs = json.loads((project / "metrics/runs/lstm.json").read_text())
    assert runs["held_out"] == "validation"  # the sweep never scored on the test split
    assert "validation accuracy over seeds" in (project / "metrics/report.md").read_text()
    run([*DVC, "queue", "stop"], project, check=False)
