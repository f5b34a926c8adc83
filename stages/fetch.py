"""fetch: the Reuters npz that keras.datasets.reuters downloads -> data/raw/reuters.npz.

Goes through keras.utils.get_file with the sha256 from params.yaml, so a file already in the Keras
cache ($KERAS_HOME/datasets/, default ~/.keras/datasets/) is used offline when its hash matches.
"""

from __future__ import annotations

import argparse

from reuters_rnn.data.fetching import fetch
from reuters_rnn.plumbing.backend import end_process, use_data_backend
from reuters_rnn.plumbing.failure import run_stage
from reuters_rnn.plumbing.stage import begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", help="where to write the verified npz, e.g. data/raw/reuters.npz")
    stage = begin(parser, "fetch")
    args, params = stage.args, stage.params
    use_data_backend()
    path = fetch(params.data, args.out)
    stage.guard.check(args.out)
    print(f"fetch: {path} ({path.stat().st_size} bytes, sha256 {params.data.sha256} verified)")


if __name__ == "__main__":
    run_stage(main, "fetch")
    end_process()  # after success: run_stage exits non-zero on a failure
