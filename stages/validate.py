"""validate: params.yaml -> a marker file that every other stage depends on.

DVC runs this stage first whenever params.yaml changes. A bad file stops `dvc repro` here, before
DVC removes any other stage's outputs; a good one rewrites the same marker, so fixing a typo
reruns nothing downstream.
"""

from __future__ import annotations

import argparse

from reuters_rnn.plumbing.atomic import atomic_path
from reuters_rnn.plumbing.failure import run_stage
from reuters_rnn.plumbing.guard import InputsGuard
from reuters_rnn.schema.params import load_params

MARKER = "params.yaml passed validation\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("params", help="the params file, e.g. params.yaml")
    parser.add_argument("marker", help="the file to write when it is valid")
    args = parser.parse_args()
    load_params(args.params)  # raises ParamsError listing every problem (or a missing file)
    guard = InputsGuard("validate", args.params)
    with atomic_path(args.marker) as tmp:
        tmp.write_text(MARKER)
    guard.check(args.marker)
    print(f"validate: {args.params} is valid")


if __name__ == "__main__":
    run_stage(main, "validate")
