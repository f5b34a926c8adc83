"""A bare `model.fit` of each published model: the yardstick for the pipeline's ms per epoch.

The same builder, compile settings (XLA, one compiled call per epoch) and validation data (in
one batch) as the pipeline, one thread, no callbacks unless `--callbacks` adds the pipeline's
(their progress lines print first). Prints one JSON line: ms/epoch (first epoch, with its
compile, left out), seconds from building the model to the end of its first epoch, and a FLOP
estimate per model.

    python benchmarks/bare_fit.py --backend tensorflow --epochs 30
    python benchmarks/bare_fit.py --no-jit --models all      # XLA's gain, model by model
    python benchmarks/bare_fit.py --callbacks                # with the pipeline's callbacks
    python benchmarks/bare_fit.py --no-validation            # what the per-epoch test curves cost
    python benchmarks/bare_fit.py --threads 2                # two threads for one training
    python benchmarks/bare_fit.py --unroll                   # the recurrence unrolled (49 steps)
    python benchmarks/bare_fit.py --validation-batch-size 50   # the test split in training batches
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reuters_rnn.plumbing.backend import import_keras, use_backend  # noqa: E402

PUBLISHED = ["vanilla_rnn", "stacked_vanilla_rnn", "lstm", "stacked_lstm"]
GATES = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}  # weight blocks per recurrent cell


def forward_flops(model, steps: int) -> int:
    """Multiply-adds x 2 of one sample's forward pass through the recurrent and dense layers."""
    flops = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind not in GATES and kind != "Dense":
            continue
        first = layer.input[0] if isinstance(layer.input, list) else layer.input  # (x, mask)
        if kind in GATES:
            inputs, units = first.shape[-1], layer.units
            flops += steps * GATES[kind] * 2 * (inputs * units + units * units + units)
        elif kind == "Dense":
            flops += 2 * first.shape[-1] * layer.units
    return flops


def unrolled(keras, model):
    """The same model with every recurrent layer unrolled over its steps (Keras's unroll=True)."""
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] in GATES:
            layer["config"]["unroll"] = True
    return keras.Model.from_config(config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="tensorflow")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--data", default="data/prepared")
    parser.add_argument("--models", default="published", help="published | all")
    parser.add_argument("--no-jit", action="store_true", help="Keras's default compilation")
    parser.add_argument(
        "--callbacks",
        action="store_true",
        help="the pipeline's curves, progress line and backups (train.checkpoint_every)",
    )
    parser.add_argument(
        "--no-validation",
        action="store_true",
        help="no test split after each epoch (so no held-out curves; not with --callbacks)",
    )
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for the training")
    parser.add_argument("--unroll", action="store_true", help="recurrent layers with unroll=True")
    parser.add_argument(
        "--validation-batch-size", type=int, help="default: the whole test split, as the pipeline"
    )
    args = parser.parse_args()
    if args.callbacks and args.no_validation:
        parser.error("--callbacks logs held-out curves: it needs the validation data")
    use_backend(args.backend, threads=args.threads)
    keras = import_keras()
    from reuters_rnn.data.dataset import NUM_CLASSES, load_prepared
    from reuters_rnn.fit.models import build_model, compile_model, model_inputs
    from reuters_rnn.fit.progress import Backup, EpochLog
    from reuters_rnn.schema.params import load_params

    params, arrays = load_params(), load_prepared(args.data)
    steps = math.ceil(len(arrays["x_train"]) / params.train.batch_size)
    jit_compile = "auto" if args.no_jit else params.train.jit_compile
    results = {}
    for name in PUBLISHED if args.models == "published" else params.models:
        keras.utils.set_random_seed(1)
        spec = params.models[name]
        started = time.perf_counter()
        model = build_model(name, spec, 49, NUM_CLASSES, params.data.num_words)
        if args.unroll:
            model = unrolled(keras, model)
        learning_rate = params.learning_rate(name)
        compile_model(model, learning_rate, steps, jit_compile, spec.label_smoothing)
        x_train, x_test = (
            model_inputs(spec, arrays["x_train"]),
            model_inputs(spec, arrays["x_test"]),
        )
        fit = dict(batch_size=params.train.batch_size, verbose=0)
        if not args.no_validation:
            fit["validation_data"] = (x_test, arrays["y_test"])
            fit["validation_batch_size"] = args.validation_batch_size or len(x_test)
        model.fit(x_train, arrays["y_train"], epochs=1, **fit)  # compile
        first_epoch = time.perf_counter() - started
        callbacks, rows = [], []
        if args.callbacks:
            backup = Path(tempfile.mkdtemp(prefix=f"bare-{name}-"))
            every = params.train.checkpoint_every
            callbacks = [
                EpochLog(f"bare {name}", args.epochs, "test", rows),
                Backup(backup, every, rows),
            ]
        start = time.perf_counter()
        model.fit(x_train, arrays["y_train"], epochs=args.epochs, callbacks=callbacks, **fit)
        seconds = (time.perf_counter() - start) / args.epochs
        if args.callbacks:
            shutil.rmtree(backup)
        forward = forward_flops(model, arrays["x_train"].shape[1])
        held_out = 0 if args.no_validation else len(arrays["x_test"])
        flops = 3 * forward * len(arrays["x_train"]) + forward * held_out
        results[name] = {
            "ms_per_epoch": round(1000 * seconds, 1),
            "first_epoch_s": round(first_epoch, 2),
            "gflop_per_epoch": flops / 1e9,
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
