"""Speed benchmark, in one run on one machine: the naive published script against the pipeline's
default path (plain `dvc repro`), per backend, with each epoch held against a bare `model.fit`.

Times, in order: the plain Keras script (TensorFlow, model.fit, four models in a row:
benchmarks/naive_reference.py); then, per backend, `dvc repro` of a fresh project copy at the same
settings (four published models, one seed), a bare model.fit of the same models
(benchmarks/bare_fit.py), each stage's fixed cost and a no-op `dvc repro`. Prints Markdown for the
README. The real Reuters file must be in the Keras cache.

    python benchmarks/speed.py                 # the published 200 epochs (about 13 minutes)
    python benchmarks/speed.py --epochs 20     # a quick look
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.project_copy import DVC, PROJECT, copy_project, timed  # noqa: E402

PUBLISHED = ["vanilla_rnn", "stacked_vanilla_rnn", "lstm", "stacked_lstm"]


def naive_reference(epochs: int) -> dict:
    cmd = [sys.executable, str(PROJECT / "benchmarks/naive_reference.py"), "--epochs", str(epochs)]
    seconds, out = timed(cmd, PROJECT)
    return {"seconds": seconds, **json.loads(out.strip().splitlines()[-1])}


def pipeline(workdir: Path, backend: str, epochs: int) -> dict:
    """Plain `dvc repro` of the four published models, one seed; then stage costs and a no-op."""

    def settings(params: dict) -> None:
        params["models"] = {name: params["models"][name] for name in PUBLISHED}
        params["ensembles"] = {}  # their members (swem) are not among the published four
        pairs = params["report"]["comparisons"]
        params["report"]["comparisons"] = [p for p in pairs if set(p) <= set(PUBLISHED)]
        params["train"].update(epochs=epochs, seeds=[1], backend=backend)

    repo = copy_project(workdir, settings)
    seconds, _ = timed([*DVC, "repro"], repo)
    (repo / "scratch").mkdir()  # the stages below rerun by hand write here, not over the outputs
    runs, training = {}, {}
    for name in PUBLISHED:
        runs[name] = json.loads((repo / f"metrics/runs/{name}.json").read_text())["seeds"]["1"]
        training[name] = json.loads((repo / f"metrics/training/{name}.json").read_text())["seeds"][
            0
        ]
    evaluate = (
        "python -m stages.evaluate lstm data/prepared models/lstm scratch/runs-lstm.json "
        "scratch/confusion-lstm.csv scratch/predictions-lstm.csv scratch/training-lstm.json "
        "scratch/curves-lstm.csv"
    )
    baseline = "python -m stages.baseline tfidf_logreg data/prepared scratch/tfidf.json scratch/tfidf.csv scratch/tfidf.npy"
    stage_seconds = {
        "evaluate (one model)": timed(evaluate.split(), repo)[0],
        "baseline tfidf_logreg": timed(baseline.split(), repo)[0],
        "report": timed(["python", "-m", "stages.report", "metrics", "scratch/report"], repo)[0],
    }
    bare = json.loads(
        timed(
            [
                sys.executable,
                str(PROJECT / "benchmarks/bare_fit.py"),
                "--backend",
                backend,
                "--epochs",
                str(min(epochs, 30)),
            ],
            repo,
        )[1].splitlines()[-1]
    )
    noop = min(timed([*DVC, "repro"], repo)[0] for _ in range(3))
    return {
        "seconds": seconds,
        "runs": runs,
        "training": training,
        "bare": bare,
        "stage_seconds": stage_seconds,
        "noop_seconds": noop,
    }


def markdown(reference: dict, results: dict[str, dict], epochs: int) -> str:
    base = reference["seconds"]
    lines = [
        f"Four published models, one seed, {epochs} epochs, batch 50, {sys.platform}, one run:",
        "",
        "| run | wall s | × naive | " + " | ".join(f"{m} acc" for m in PUBLISHED) + " |",
        "| --- | ---: | ---: | " + " | ".join("---:" for _ in PUBLISHED) + " |",
        f"| naive script (plain Keras, tensorflow) | {base:.1f} | 1.00 | "
        + " | ".join(f"{reference['models'][m]['accuracy']:.4f}" for m in PUBLISHED)
        + " |",
    ]
    for backend, r in results.items():
        lines.append(
            f"| pipeline, {backend}, `dvc repro` | {r['seconds']:.1f} | {r['seconds'] / base:.2f} | "
            + " | ".join(f"{r['runs'][m]['accuracy']:.4f}" for m in PUBLISHED)
            + " |"
        )
    lines += [
        "",
        "ms per epoch: the pipeline's (callbacks, logging, backups) against a bare "
        "`model.fit` of the same model with the same validation data, and the work done:",
        "",
        "| backend | model | pipeline ms | bare ms | × bare | GFLOP/epoch | GFLOP/s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for backend, r in results.items():
        for m in PUBLISHED:
            ms, bare = r["training"][m]["ms_per_epoch"], r["bare"][m]["ms_per_epoch"]
            gflop = r["bare"][m]["gflop_per_epoch"]
            lines.append(
                f"| {backend} | {m} | {ms:.0f} | {bare:.0f} | {ms / bare:.2f} | "
                f"{gflop:.2f} | {gflop / ms * 1000:.1f} |"
            )
    lines += [
        "",
        "Fixed cost per stage (seconds):",
        "",
        "| backend | train: start to first epoch end, minus one epoch | "
        + " | ".join(next(iter(results.values()))["stage_seconds"])
        + " | no-op `dvc repro` |",
        "| --- | ---: | "
        + " | ".join("---:" for _ in next(iter(results.values()))["stage_seconds"])
        + " | ---: |",
    ]
    for backend, r in results.items():
        fixed = [
            t["seconds_to_first_epoch_end"] - t["ms_per_epoch"] / 1000
            for t in r["training"].values()
        ]
        lines.append(
            f"| {backend} | {min(fixed):.1f}–{max(fixed):.1f} | "
            + " | ".join(f"{s:.1f}" for s in r["stage_seconds"].values())
            + f" | {r['noop_seconds']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    args = parser.parse_args()
    backends = ["tensorflow", "jax"]
    if importlib.util.find_spec("jax") is None:
        print("jax is not installed (pip install -e '.[jax]'): tensorflow only", file=sys.stderr)
        backends = ["tensorflow"]
    reference = naive_reference(args.epochs)
    print(f"naive script: {reference['seconds']:.1f} s", flush=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            results[backend] = pipeline(Path(tmp) / backend, backend, args.epochs)
            ratio = results[backend]["seconds"] / reference["seconds"]
            print(
                f"pipeline, {backend}: {results[backend]['seconds']:.1f} s ({ratio:.2f}x)",
                flush=True,
            )
    text = markdown(reference, results, args.epochs)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
