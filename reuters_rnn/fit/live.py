"""What a running training shows where DVC users look, without Keras: the live summary of its
curves file (a DVC metrics file, so `dvc exp show` and DVC's VS Code table show the running
experiment's step), and DVCLive's signal to DVC's VS Code extension that a step ended.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class LiveFiles:
    """Where a training shows itself while it runs: `curves`, DVC's plot file, gets each epoch's
    rows; `summary`, a DVC metrics file, the epoch every seed has reached and their mean
    held-out accuracy, so `dvc exp show` (and DVC's VS Code table) shows the running
    experiment's step and numbers."""

    curves: Path
    summary: Path | None = None


def live_summary(curves: Path) -> dict:
    """The running training's step from its curves file: the epoch every seed has finished, and
    the mean over seeds of their latest held-out accuracy (train's before any is watched)."""
    rows = pd.read_csv(curves)
    if rows.empty:
        return {"epoch": 0}
    latest = rows.groupby(["seed", "split"], sort=False).tail(1)
    held = latest[latest["split"] != "train"]
    shown = held if len(held) else latest
    epoch = int(latest.groupby("seed")["epoch"].max().min())
    return {"epoch": epoch, "accuracy": round(float(shown["accuracy"].mean()), 4)}


def write_summary(files: LiveFiles) -> None:
    """The summary of what `files.curves` holds now, atomically (the seeds' workers share it),
    and, inside a DVC experiment, DVC's VS Code extension told that a step ended (the signal
    file DVCLive writes, in the repository the experiment was started from)."""
    if files.summary is None:
        return
    summary = live_summary(files.curves)
    files.summary.parent.mkdir(parents=True, exist_ok=True)
    tmp = files.summary.with_name(f".{files.summary.name}.{os.getpid()}")
    tmp.write_text(json.dumps(summary, indent=2) + "\n")
    os.replace(tmp, files.summary)
    root = os.environ.get("DVC_ROOT")
    if root and os.environ.get("DVC_EXP_NAME"):
        signal = Path(root, ".dvc", "tmp", "exps", "run", "DVCLIVE_STEP_COMPLETED")
        signal.parent.mkdir(parents=True, exist_ok=True)
        signal.write_text(json.dumps({"pid": os.getpid(), "step": summary["epoch"]}))
