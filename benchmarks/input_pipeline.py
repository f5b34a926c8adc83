"""What an epoch costs with Keras's input pipeline against the recipe's batches made once, model
by model, on TensorFlow: ms per epoch and whether the predictions are the same bits.

`keras`: model.fit on the arrays, as the pipeline trained before: Keras builds a tf.data input
pipeline (shuffle, slice, gather, prefetch) for the training split and one for the watched split
at every epoch. `made once`: the recipe (reuters_rnn.fit.batching.array_batches): Keras's own
batches, made once, as datasets. With `--xla-function-runtime`, a third column: the recipe with
XLA's CPU runtime before its thunks (`--xla_cpu_use_thunk_runtime=false`), tried and not kept
(docs/speed.md). Each (model, variant) trains in a fresh process, one thread, in turns,
`--repeats` times; the fastest epoch rate of each is printed.

    python benchmarks/input_pipeline.py                   # the models of params.yaml, 20 epochs
    python benchmarks/input_pipeline.py --models lstm --epochs 40 --repeats 3 --xla-function-runtime
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FUNCTION_RUNTIME = "--xla_cpu_use_thunk_runtime=false"


def fit_once(model: str, epochs: int, variant: str, data: str) -> dict:
    """One training in this process (the child's side): ms/epoch after the first, predictions."""
    if variant == "function runtime":
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {FUNCTION_RUNTIME}"
    from reuters_rnn.data.dataset import holdout, load_prepared
    from reuters_rnn.plumbing.backend import import_keras, use_backend
    from reuters_rnn.schema.params import load_params

    params = load_params()
    use_backend("tensorflow", threads=1)
    keras = import_keras()
    from reuters_rnn.fit.recipe import Recipe

    ends: list[float] = []

    class EpochEnds(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            ends.append(time.perf_counter())

    spec = params.models[model].model_copy(update={"epochs": None})  # this benchmark's epochs
    train = params.train.model_copy(update={"epochs": epochs})
    recipe = Recipe(params.model_copy(update={"train": train}), model, spec)
    arrays = holdout(load_prepared(data), 0.0)
    net = recipe.build(1, arrays["x_train"])
    if variant == "keras":
        x, watched = recipe.inputs(arrays["x_train"]), recipe.inputs(arrays["x_test"])
        net.fit(
            x,
            arrays["y_train"],
            batch_size=train.batch_size,
            epochs=epochs,
            validation_data=(watched, arrays["y_test"]),
            validation_batch_size=len(watched),
            callbacks=[EpochEnds()],
            verbose=0,
        )
    else:
        recipe.fit(net, arrays, 1, [EpochEnds()])
    probabilities = recipe.predict(net, arrays["x_test"])
    return {
        "ms_per_epoch": round(1000 * (ends[-1] - ends[0]) / (len(ends) - 1), 1),
        "sha256": hashlib.sha256(probabilities.tobytes()).hexdigest(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", help="default: every model in params.yaml")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--xla-function-runtime", action="store_true")
    parser.add_argument(
        "--data", default="data/prepared", help="prepared arrays (dvc repro prepare)"
    )
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(fit_once(args.child[0], args.epochs, args.child[1], args.data)))
        return
    if args.models is None:
        from reuters_rnn.schema.params import load_params

        args.models = list(load_params().models)
    variants = ["keras", "made once"] + (["function runtime"] if args.xla_function_runtime else [])
    best: dict[tuple[str, str], dict] = {}
    for _ in range(args.repeats):
        for model in args.models:
            for variant in variants:
                cmd = [sys.executable, __file__, "--child", model, variant]
                cmd += ["--epochs", str(args.epochs), "--data", args.data]
                out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
                run = json.loads(out.stdout.strip().splitlines()[-1])
                kept = best.get((model, variant))
                if kept is None or run["ms_per_epoch"] < kept["ms_per_epoch"]:
                    best[model, variant] = run
                print(f"{model}, {variant}: {run['ms_per_epoch']} ms/epoch", file=sys.stderr)
    print(f"\n{args.epochs} epochs, batch 50, one thread, fastest of {args.repeats} (ms/epoch):\n")
    print(f"| model | {' | '.join(variants)} | × keras | same predictions |")
    print(f"| --- | {' | '.join('---:' for _ in variants)} | ---: | --- |")
    for model in args.models:
        runs = [best[model, variant] for variant in variants]
        ratio = " / ".join(
            f"{run['ms_per_epoch'] / runs[0]['ms_per_epoch']:.2f}" for run in runs[1:]
        )
        same = "yes" if len({run["sha256"] for run in runs}) == 1 else "no"
        cells = " | ".join(f"{run['ms_per_epoch']:.0f}" for run in runs)
        print(f"| {model} | {cells} | {ratio} | {same} |")


if __name__ == "__main__":
    main()
