"""Search throughput: trials per hour with one worker and with two, and each trial's fixed cost.

Runs `python -m model_search run` twice in a scratch copy of the project, on identical trials
(a grid of copies of `swem` as params.yaml has it, so every trial costs the same), first with
--workers 1, then --workers 2 and twice the trials. Prints trials per hour (whole command, and
from the first trial's start to the last trial's end), the ratio, and the fixed cost per trial:
its seconds outside `model.fit` (building, compiling, scoring, storage) as a share of the fits'.
Run after `dvc repro prepare`:

    python benchmarks/search_speed.py            # one seed per fold: about 8 minutes, 2-core x86
    python benchmarks/search_speed.py --seeds 1 2 3 --trials 2   # the full protocol
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.project_copy import ENV, PROJECT, copy_project  # noqa: E402


def scratch_project(seeds: list[int], trials: int, change: dict) -> Path:
    """A project copy with the given seeds, swem with `change` set, the prepared data, and a grid
    of copies of that swem (the current model among them: all the same)."""
    repo = copy_project(
        Path(tempfile.mkdtemp(prefix="search-speed-")) / "project",
        lambda params: (
            params["train"].update(seeds=seeds),
            params["models"]["swem"].update(change),
        ),
    )
    shutil.copytree(PROJECT / "data" / "prepared", repo / "data" / "prepared")
    swem = {**yaml.safe_load((PROJECT / "params.yaml").read_text())["models"]["swem"], **change}
    copies = {f"copy_{i}": {"label_smoothing": swem["label_smoothing"]} for i in range(2 * trials)}
    search = {"spaces": {"same": {"model": "swem", "sampler": "grid", "candidates": copies}}}
    (repo / "search.yaml").write_text(yaml.safe_dump(search))
    return repo


def measure(repo: Path, workers: int, trials: int) -> dict:
    """Run `trials` trials on `workers` workers in a fresh study; what it took."""
    study_name = f"workers_{workers}"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "model_search", "run", "same", "--study", study_name]
        + ["--workers", str(workers), "--trials", str(trials)],
        cwd=repo,
        env=ENV,
        check=True,
    )
    wall = time.perf_counter() - start
    storage = f"sqlite:///{repo}/search/studies.db"
    done = optuna.load_study(study_name=study_name, storage=storage).get_trials(
        states=(optuna.trial.TrialState.COMPLETE,)
    )
    first = min(t.datetime_start for t in done)
    last = max(t.datetime_complete for t in done)
    seconds = [(t.datetime_complete - t.datetime_start).total_seconds() for t in done]
    fits = [t.user_attrs["fit_seconds"] for t in done]
    return {
        "trials": len(done),
        "wall": wall,
        "per_hour": 3600 * len(done) / wall,
        "per_hour_trials_only": 3600 * len(done) / (last - first).total_seconds(),
        "fixed_share": (sum(seconds) - sum(fits)) / sum(fits),
        "trial_seconds": sum(seconds) / len(done),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--trials", type=int, default=3, help="trials of the one-worker run")
    parser.add_argument(
        "--change", nargs="*", default=[], help="swem keys to set, e.g. embedding_dim=16"
    )
    args = parser.parse_args()
    change = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.change)}
    repo = scratch_project(args.seeds, args.trials, change)
    one = measure(repo, 1, args.trials)
    two = measure(repo, 2, 2 * args.trials)
    print(f"swem {change or ''} trials of 5-fold CV x seeds {args.seeds} (identical trials):")
    print("| workers | trials | s/trial | trials/hour | trials/hour (trials only) | fixed cost |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for workers, m in ((1, one), (2, two)):
        print(
            f"| {workers} | {m['trials']} | {m['trial_seconds']:.1f} | {m['per_hour']:.1f} "
            f"| {m['per_hour_trials_only']:.1f} | {100 * m['fixed_share']:.1f} % of the fits |"
        )
    print(
        f"two workers / one: {two['per_hour'] / one['per_hour']:.2f}x trials per hour "
        f"({two['per_hour_trials_only'] / one['per_hour_trials_only']:.2f}x counting trials only)"
    )


if __name__ == "__main__":
    main()
