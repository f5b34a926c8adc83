"""Which instruction-set caps make a training give the same weights on every x86-64 CPU?

Trains one (model, seed) of the pipeline on data/prepared (run `dvc repro prepare` first) with
the pipeline's own `fit`, once per setting below, each in a fresh process, and prints the test
accuracy, the sha256 of the predicted probabilities (equal hashes: the same weights, bit for bit)
and the seconds. Run it on two CPUs and compare the hashes; `--reference` compares with the
probabilities a committed run recorded (metrics/training/<model>.json).

    python benchmarks/reproducibility.py --model lstm --seed 1 --epochs 200 --reference
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Settings tried: name -> environment added to the training process.
SETTINGS: dict[str, dict[str, str]] = {
    "default": {},
    "XLA max ISA AVX2": {"XLA_FLAGS": "--xla_cpu_max_isa=AVX2"},
    "oneDNN max ISA AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "oneDNN max ISA SSE4.1": {"ONEDNN_MAX_CPU_ISA": "SSE41"},
    "TensorFlow oneDNN ops off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "XLA without oneDNN": {"XLA_FLAGS": "--xla_cpu_use_onednn=false"},
    "XLA without XNNPACK": {"XLA_FLAGS": "--xla_cpu_use_xnnpack=false"},
    "XLA and oneDNN max AVX2": {
        "XLA_FLAGS": "--xla_cpu_max_isa=AVX2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
    },
    "XLA strict dot math": {"XLA_FLAGS": "--xla_cpu_strict_dot_conv_math=true"},
    "XLA no platform math": {"XLA_FLAGS": "--xla_cpu_enable_platform_dependent_math=false"},
}


def child(model: str, seed: int, epochs: int) -> None:
    """One training in this process; prints a JSON line with accuracy, hash and seconds."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from reuters_rnn.plumbing.backend import import_keras, use_backend
    from reuters_rnn.schema.params import load_params

    params = load_params()
    use_backend(params.train.backend, threads=1)
    import_keras()
    import numpy as np

    from reuters_rnn.data.dataset import holdout, load_prepared
    from reuters_rnn.fit.entry import Split
    from reuters_rnn.fit.model_entry import Model

    spec = params.models[model].model_copy(update={"epochs": epochs})
    params = params.model_copy(update={"models": {**params.models, model: spec}})
    arrays = holdout(load_prepared("data/prepared"), params.train.validation_split)
    split = Split(
        arrays["x_train"], arrays["labels_train"], arrays["x_test"], arrays["labels_test"]
    )
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as backup:
        fit = Model(params, model).fit_predict(split, seed, watch=True, backup=Path(backup))
    probabilities = fit.probabilities
    accuracy = float((probabilities.argmax(1) == arrays["labels_test"]).mean())
    buffer = io.BytesIO()
    np.save(buffer, probabilities)  # as train saves seed-<n>.probabilities.npy
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    print(
        json.dumps({"accuracy": accuracy, "sha256": digest, "seconds": time.perf_counter() - start})
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="lstm")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS), help="names from SETTINGS")
    parser.add_argument(
        "--reference", action="store_true", help="compare with the committed run's probabilities"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.model, args.seed, args.epochs)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from reuters_rnn.plumbing.backend import cpu_description

    print(f"{args.model}, seed {args.seed}, {args.epochs} epochs, on {cpu_description()}")
    committed = None
    if args.reference:
        facts = json.loads(Path(f"metrics/training/{args.model}.json").read_text())
        committed = next(
            r["probabilities_sha256"] for r in facts["seeds"] if r["seed"] == args.seed
        )
        print(f"committed run: {committed[:16]} (metrics/training/{args.model}.json)")
    print(
        "| setting | test accuracy | probabilities sha256 | same as default | same as committed | s |"
    )
    print("| --- | ---: | --- | --- | --- | ---: |")
    default = None
    for name in args.settings:
        env = {**os.environ, "PROGRESS_EVERY": "3600", **SETTINGS[name]}
        cmd = [
            sys.executable,
            __file__,
            "--child",
            "--model",
            args.model,
            "--seed",
            str(args.seed),
            "--epochs",
            str(args.epochs),
        ]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"| {name} | failed: {done.stderr.strip().splitlines()[-1:]} | | | | |")
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        default = default or result["sha256"]
        same = "yes" if result["sha256"] == default else "no"
        reference = "" if committed is None else ("yes" if result["sha256"] == committed else "no")
        print(
            f"| {name} | {result['accuracy']:.4f} | {result['sha256'][:16]} | {same} | "
            f"{reference} | {result['seconds']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
