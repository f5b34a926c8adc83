"""prepare: data/raw/reuters.npz -> data/prepared/ (padded arrays + manifest) and dataset facts.

Checks the raw file's sha256 against data.sha256 before unpickling anything, then shuffles,
filters and splits exactly as keras.datasets.reuters.load_data(num_words, maxlen, test_split,
seed) does, and pads (or truncates) train and test to one length: data.pad_to, else maxlen - 1.
"""

from __future__ import annotations

import argparse

from reuters_rnn.data.dataset import write_prepared
from reuters_rnn.data.preparing import conflicting_test, facts, prepare, read_raw
from reuters_rnn.plumbing.atomic import atomic_path, write_json
from reuters_rnn.plumbing.backend import end_process, use_data_backend
from reuters_rnn.plumbing.failure import run_stage
from reuters_rnn.plumbing.stage import begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raw", help="the fetched npz, e.g. data/raw/reuters.npz")
    parser.add_argument("out", help="directory for the prepared arrays, e.g. data/prepared")
    parser.add_argument("facts", help="JSON of dataset facts, e.g. metrics/data.json")
    stage = begin(parser, "prepare")
    args, params = stage.args, stage.params
    use_data_backend()
    raw = read_raw(args.raw, params.data.sha256)
    arrays = prepare(*raw, params.data)
    with atomic_path(args.out, directory=True) as tmp:
        write_prepared(tmp, arrays)
    summary = facts(arrays, conflicting_test(*raw, params.data))
    write_json(args.facts, summary)
    stage.guard.check(args.out, args.facts)
    shapes = ", ".join(f"{k} {v.shape} {v.dtype}" for k, v in arrays.items())
    print(f"prepare: {args.out}: {shapes}")
    print(f"prepare: majority-class test accuracy {summary['majority_class_test_accuracy']}")
    print(
        f"prepare: {summary['test_conflicting']} test newswires have their text in the training "
        "split under another label"
    )


if __name__ == "__main__":
    run_stage(main, "prepare")
    end_process()  # after success: run_stage exits non-zero on a failure
