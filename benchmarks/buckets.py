"""Length buckets against padding to the full length: seconds per epoch of lstm and swem on the
whole set's training split, one thread, as the train stage runs a seed.

Both ways train the same model from the same start on the same newswires (whole_set/params.yaml's
data and specs); the first epoch (compilation) is timed apart. Prints Markdown for
docs/whole-set.md. The real Reuters file must be in the Keras cache.

    python benchmarks/buckets.py              # 3 epochs each way (about 4 minutes)
    python benchmarks/buckets.py --epochs 5 --buckets 64 128 256
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reuters_rnn.plumbing.backend import import_keras, use_backend  # noqa: E402
from reuters_rnn.schema.params import load_params  # noqa: E402

PARAMS = Path(__file__).resolve().parents[1] / "whole_set" / "params.yaml"


def epoch_seconds(params, name: str, arrays: dict, buckets: tuple[int, ...], epochs: int):
    """(first epoch s, mean s of the others, last train accuracy) for one way of batching."""
    keras = import_keras()
    from reuters_rnn.fit.batching import LengthBuckets
    from reuters_rnn.fit.models import build_model, compile_model, model_inputs

    spec, train = params.models[name], params.train
    keras.utils.set_random_seed(1)
    x = model_inputs(spec, arrays["x_train"])
    length = None if buckets else x.shape[1]
    model = build_model(name, spec, length, 46, params.data.num_words)
    steps = 1 if buckets else -(-len(x) // train.batch_size)
    compile_model(model, params.learning_rate(name), steps, train.jit_compile, spec.label_smoothing)
    if buckets:
        data = {"x": LengthBuckets(x, arrays["y_train"], train.batch_size, buckets, "post", 1)}
    else:
        data = {"x": x, "y": arrays["y_train"], "batch_size": train.batch_size}
    times = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    history = model.fit(**data, epochs=epochs, callbacks=[Clock()], verbose=0)
    rest = times[1:] or times
    return times[0], sum(rest) / len(rest), history.history["accuracy"][-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["lstm", "swem"])
    parser.add_argument("--buckets", nargs="+", type=int, default=None)
    args = parser.parse_args()
    params = load_params(PARAMS)
    use_backend(params.train.backend, threads=1)
    import_keras()
    from reuters_rnn.data.fetching import fetch
    from reuters_rnn.data.preparing import prepare, read_raw
    from reuters_rnn.fit.batching import lengths

    with tempfile.TemporaryDirectory() as tmp:
        raw = fetch(params.data, Path(tmp) / "reuters.npz")
        arrays = prepare(*read_raw(raw, params.data.sha256), params.data)
    buckets = tuple(args.buckets or params.train.length_buckets or (64, 128, 256))
    words = lengths(arrays["x_train"], params.data.padding)
    print(
        f"{len(words)} training newswires padded to {arrays['x_train'].shape[1]}: "
        f"{words.mean():.0f} words on average; buckets {list(buckets)}\n"
    )
    print("| model | batching | first epoch s | s/epoch after | train accuracy | speed-up |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in args.models:
        padded = epoch_seconds(params, name, arrays, (), args.epochs)
        bucketed = epoch_seconds(params, name, arrays, buckets, args.epochs)
        for label, (first, after, accuracy) in (("padded", padded), ("buckets", bucketed)):
            ratio = padded[1] / after
            print(
                f"| {name} | {label} | {first:.1f} | {after:.2f} | {accuracy:.4f} | {ratio:.2f}× |"
            )


if __name__ == "__main__":
    main()
