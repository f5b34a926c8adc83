"""Live learning curves: what writing each epoch's rows costs, the project's own append
(reuters_rnn.fit.progress.LiveCurves) against DVCLive's Keras-style logging, per epoch.

Both are driven as a training drives them, one epoch's logs at a time (train and held-out
accuracy and loss), without a model, so only the writing is timed; prints milliseconds per epoch
and DVCLive's ratio to the append. DVCLive is no dependency of the project: install it first.

    pip install dvclive==3.49.1 && python benchmarks/live_curves.py --epochs 200
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from reuters_rnn.fit.run_state import CURVE_COLUMNS  # noqa: E402

LOGS = {"accuracy": 0.81, "loss": 0.62, "val_accuracy": 0.79, "val_loss": 0.71}


def own_append(folder: Path, epochs: int) -> float:
    """Seconds for `epochs` epochs of EpochLog rows flushed by LiveCurves."""
    from reuters_rnn.fit.progress import EpochLog, LiveCurves

    curves = folder / "curves.csv"
    pd.DataFrame(columns=CURVE_COLUMNS).to_csv(curves, index=False)
    rows: list[dict] = []
    log, live = EpochLog(None, epochs, "test", rows), LiveCurves(curves, 1, rows)
    start = time.perf_counter()
    for epoch in range(epochs):
        log.on_epoch_end(epoch, LOGS)
        live.on_epoch_end(epoch, LOGS)
    return time.perf_counter() - start


def dvclive_logging(folder: Path, epochs: int) -> float:
    """Seconds for the same epochs through DVCLive: Live(dir, dvcyaml=None,
    save_dvc_exp=False), four log_metric calls and next_step per epoch (what its Keras callback
    does at each epoch's end)."""
    from dvclive import Live

    start = time.perf_counter()
    with Live(dir=str(folder / "dvclive"), dvcyaml=None, save_dvc_exp=False, report=None) as live:
        for _ in range(epochs):
            for name, value in LOGS.items():
                live.log_metric(name, value)
            live.next_step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    best = {}
    for name, run in (("own append", own_append), ("dvclive", dvclive_logging)):
        times = []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as folder:
                times.append(run(Path(folder), args.epochs))
        best[name] = min(times) / args.epochs * 1000
    print("| writer | ms per epoch | ratio to own append |")
    print("| :-- | --: | --: |")
    for name, ms in best.items():
        print(f"| {name} | {ms:.3f} | {ms / best['own append']:.1f}x |")


if __name__ == "__main__":
    main()
