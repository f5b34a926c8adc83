"""Speed benchmark: the naive published script against the pipeline, on this machine, in one run.

Times, in order: the plain Keras script (TensorFlow, model.fit, four models in a row:
benchmarks/naive_reference.py), then `dvc repro` of a fresh project copy at the same settings
(four published models, one seed) for each variant below, then a no-op `dvc repro`. Prints
seconds, ratios against the reference, accuracies (speed must not change results) and ms/epoch per
model and backend, as Markdown for the README. The real Reuters file must be in the Keras cache.

    python benchmarks/speed.py                 # the published 200 epochs (about 20 minutes)
    python benchmarks/speed.py --epochs 5      # a quick look
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.project_copy import DVC, ENV, PROJECT, copy_project  # noqa: E402

PUBLISHED = ["vanilla_rnn", "stacked_vanilla_rnn", "lstm", "stacked_lstm"]
# (label, backend, command run in the project copy)
VARIANTS = [
    ("pipeline, tensorflow, dvc repro", "tensorflow", [*DVC, "repro"]),
    (
        "pipeline, tensorflow, 2 jobs",
        "tensorflow",
        [sys.executable, "tools/parallel_repro.py", "-j", "2"],
    ),
    ("pipeline, jax, dvc repro", "jax", [*DVC, "repro"]),
    ("pipeline, jax, 2 jobs", "jax", [sys.executable, "tools/parallel_repro.py", "-j", "2"]),
]


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return time.perf_counter() - start


def naive_reference(epochs: int) -> dict:
    start = time.perf_counter()
    cmd = [sys.executable, str(PROJECT / "benchmarks/naive_reference.py"), "--epochs", str(epochs)]
    result = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"the naive reference failed (is reuters.npz in the Keras cache?):\n{result.stderr[-3000:]}"
        )
    out = json.loads(result.stdout.strip().splitlines()[-1])
    return {"seconds": time.perf_counter() - start, **out}


def pipeline(workdir: Path, backend: str, cmd: list[str], epochs: int) -> dict:
    def settings(params: dict) -> None:
        params["models"] = {name: params["models"][name] for name in PUBLISHED}
        pairs = params["report"]["comparisons"]
        params["report"]["comparisons"] = [p for p in pairs if set(p) <= set(PUBLISHED)]
        params["train"].update(epochs=epochs, seeds=[1], backend=backend)

    repo = copy_project(workdir, settings)
    seconds = timed(cmd, repo)
    runs = {
        p.stem.rsplit("-", 1)[0]: json.loads(p.read_text())
        for p in (repo / "metrics/runs").glob("*.json")
    }
    noop = timed([*DVC, "repro"], repo)
    return {"seconds": seconds, "noop_seconds": noop, "runs": runs}


def markdown(reference: dict, results: dict[str, dict], epochs: int) -> str:
    base = reference["seconds"]
    lines = [
        f"Four published models, one seed, {epochs} epochs, batch 50, on this machine ({sys.platform}, "
        f"2 cores), one benchmark run:",
        "",
        "| run | wall s | × reference | " + " | ".join(f"{m} acc" for m in PUBLISHED) + " |",
        "| --- | ---: | ---: | " + " | ".join("---:" for _ in PUBLISHED) + " |",
        f"| naive reference (plain Keras, tensorflow) | {base:.1f} | 1.00 | "
        + " | ".join(f"{reference['models'][m]['accuracy']:.4f}" for m in PUBLISHED)
        + " |",
    ]
    for label, result in results.items():
        lines.append(
            f"| {label} | {result['seconds']:.1f} | {result['seconds'] / base:.2f} | "
            + " | ".join(f"{result['runs'][m]['accuracy']:.4f}" for m in PUBLISHED)
            + " |"
        )
    lines += [
        "",
        "ms per epoch (from each run's `metrics/training/*.json`):",
        "",
        "| run | " + " | ".join(PUBLISHED) + " |",
        "| --- | " + " | ".join("---:" for _ in PUBLISHED) + " |",
    ]
    for label, result in results.items():
        lines.append(
            f"| {label} | "
            + " | ".join(f"{result['runs'][m]['ms_per_epoch']:.0f}" for m in PUBLISHED)
            + " |"
        )
    noop = max(result["noop_seconds"] for result in results.values())
    lines += ["", f"No-op `dvc repro` (everything up to date): at most {noop:.2f} s."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    args = parser.parse_args()
    variants = VARIANTS
    if importlib.util.find_spec("jax") is None:
        print(
            "jax is not installed (pip install -e '.[jax]'): skipping the jax variants",
            file=sys.stderr,
        )
        variants = [v for v in VARIANTS if v[1] != "jax"]
    reference = naive_reference(args.epochs)
    print(f"naive reference: {reference['seconds']:.1f} s", flush=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, backend, cmd) in enumerate(variants):
            results[label] = pipeline(Path(tmp) / f"run{i}", backend, cmd, args.epochs)
            ratio = results[label]["seconds"] / reference["seconds"]
            print(
                f"{label}: {results[label]['seconds']:.1f} s ({ratio:.2f}x reference)", flush=True
            )
    text = markdown(reference, results, args.epochs)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
