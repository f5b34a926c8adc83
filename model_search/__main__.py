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
import shlex
import sys
from pathlib import Path

from reuters_rnn.dataset import DataError
from reuters_rnn.failure import NOT_WRITABLE, FixableError


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
    parser.add_argument(
        "--force",
        action="store_true",
        help="(report) replace search/<study>/ even where it holds more complete trials",
    )
    return parser


def run_again(args: argparse.Namespace) -> str:
    """The command that continues this run's study: the installed command with every option
    the run was given (another --storage or --study would be another study)."""
    given = ["run", args.space]
    defaults = command_line().parse_args(given)
    for option in ("search_file", "storage", "study", "data", "workers", "trials"):
        value = getattr(args, option)
        if value != getattr(defaults, option):
            given += [f"--{option.replace('_', '-')}", str(value)]
    return shlex.join(["reuters-search", *given])


def main() -> None:
    """The search command's entry point: the one place (with each worker's) that turns a
    FixableError into the line a user reads and a non-zero exit status."""
    args = command_line().parse_args()
    try:
        dispatch(args)
    except FixableError as exc:
        sys.exit(str(exc))
    except OSError as exc:
        if exc.errno not in NOT_WRITABLE:
            raise
        where = Path(exc.filename or ".")
        folder = where if where.is_dir() else where.parent
        sys.exit(
            f"search {args.space}: cannot write {folder}/ ({exc.strerror}: {where}); make it "
            f"writable for this user (`chmod -R u+w {shlex.quote(str(folder))}`) and run again"
        )
    except Exception as exc:  # the storage's driver: SQLAlchemy's errors, raised anywhere
        import sqlalchemy

        if not isinstance(exc, sqlalchemy.exc.DatabaseError) or isinstance(
            exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.IntegrityError
        ):
            raise
        from model_search.study import damaged_storage

        sys.exit(str(damaged_storage(storage_of(args), exc.orig)))


def storage_of(args: argparse.Namespace) -> str:
    """The storage a command used: --storage, or the search file's (a SQLite URL as its path)."""
    from reuters_rnn.params_file import read_yaml

    url = args.storage or str(read_yaml(args.search_file).get("storage"))
    return url.removeprefix("sqlite:///")


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
                f"running ones marked failed. `{run_again(args)}` continues the study, running "
                "those again first.",
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
