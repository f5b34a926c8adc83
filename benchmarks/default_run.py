"""The whole default run against the published script's work for the same seeds, side by side.

Times `dvc repro` of a fresh copy of the project with params.yaml as it is (every stage: six
models × the seeds in train.seeds, baselines, ensembles, report, plots), then the published
script right after (benchmarks/naive_reference.py: the four models, one seed), and prints the
ratio of the first to the second times the number of seeds. The real Reuters file must be in the
Keras cache; run it on a quiet machine (about 15 minutes on a 2-core x86 CPU).

    python benchmarks/default_run.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.project_copy import DVC, ENV, PROJECT, copy_project  # noqa: E402


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return time.perf_counter() - start, result.stdout


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        repo = copy_project(Path(workdir) / "project")
        seeds = json.loads(
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from reuters_rnn.params import load_params; "
                    "print(list(load_params().train.seeds))",
                ],
                cwd=repo,
                env=ENV,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        print(f"dvc repro of the default params ({len(seeds)} seeds) ...", file=sys.stderr)
        pipeline, _ = timed([*DVC, "repro"], repo)
    print("the published script, one seed ...", file=sys.stderr)
    script = [sys.executable, str(PROJECT / "benchmarks/naive_reference.py")]
    naive, _ = timed(script, PROJECT)
    work = naive * len(seeds)
    print("| run | wall s | × the script's work for the same seeds |")
    print("| --- | ---: | ---: |")
    print(f"| `dvc repro`, default params | {pipeline:.1f} | {pipeline / work:.3f} |")
    print(f"| published script × {len(seeds)} seeds | {work:.1f} ({naive:.1f} each) | 1.000 |")


if __name__ == "__main__":
    main()
