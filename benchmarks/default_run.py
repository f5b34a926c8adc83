"""The whole default run against the published script's work for the same seeds, side by side.

Times `dvc repro` of a fresh copy of the project with params.yaml as it is (every stage: six
models × the seeds in train.seeds, baselines, ensembles, report, plots), then the published
script right after (benchmarks/naive_reference.py: the four models, one seed), and prints the
ratio of the first to the second times the number of seeds. The real Reuters file must be in the
Keras cache; run it on a quiet machine (about 15 minutes on a 2-core x86 CPU).

    python benchmarks/default_run.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.project_copy import DVC, PROJECT, copy_project, timed  # noqa: E402


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        repo = copy_project(Path(workdir) / "project")
        seeds = yaml.safe_load((repo / "params.yaml").read_text())["train"]["seeds"]
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
