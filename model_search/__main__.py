"""model_search: a space of search.yaml -> an Optuna study of cross-validated trials, its tracked
results (search/<space>/) and the `dvc exp run` that trains the best trial in the pipeline.

    python -m model_search run swem                 # 2 workers here (one per core)
    python -m model_search run swem --storage postgresql://...   # the same on every machine
    python -m model_search report swem              # trials, plots, paired comparison
    python -m model_search best swem                # prints the promotion command
    python -m model_search compare swem --against tfidf_logreg   # two studies' best, paired

Trials are scored by cross-validation on the training split; the test split is never read.
Not a DVC stage: a search runs for hours on as many machines as a team points at its storage, and
`report` writes what it found as plain files for git and `dvc plots show`.
"""

from __future__ import annotations

import argparse
import sys

from reuters_rnn.dataset import DataError
from reuters_rnn.failure import FixableError


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def command_line() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["run", "report", "best", "compare"])
    parser.add_argument("space", help="a space under `spaces:` in search.yaml")
    parser.add_argument("--search-file", default="search.yaml")
    parser.add_argument("--storage", help="Optuna storage URL (default: search.yaml's storage)")
    parser.add_argument("--study", help="study name (default: the space's name)")
    parser.add_argument("--data", default="data/prepared", help="prepared data directory")
    parser.add_argument("--workers", type=positive, default=2, help="worker processes here (run)")
    parser.add_argument("--trials", type=positive, help="trials in all (run; default: the space's)")
    parser.add_argument("--out", help="results folder (report; default: search/<study>)")
    parser.add_argument("--against", help="the other space (compare)")
    return parser


def main() -> None:
    """The search command's entry point: the one place (with each worker's) that turns a
    FixableError into the line a user reads and a non-zero exit status."""
    args = command_line().parse_args()
    try:
        dispatch(args)
    except FixableError as exc:
        sys.exit(str(exc))


def dispatch(args: argparse.Namespace) -> None:
    if args.command == "run":
        from model_search.workers import run

        try:
            run(args)
        except DataError as exc:
            sys.exit(f"search {args.space}: {exc}")
        except KeyboardInterrupt:
            print(
                f"search {args.space}: interrupted; finished trials are kept in the storage, "
                f"running ones marked failed. `python -m model_search run {args.space}` "
                "continues the study, running those again first.",
                file=sys.stderr,
            )
            sys.exit(130)
        return
    from model_search.promotion import best
    from model_search.results import report
    from model_search.versus import compare

    if args.command == "compare" and not args.against:
        sys.exit("search: compare needs --against <space>, the study to pair with")
    {"report": report, "best": best, "compare": compare}[args.command](args)


if __name__ == "__main__":
    main()
