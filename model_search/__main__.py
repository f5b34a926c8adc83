"""model_search: a space of search.yaml -> an Optuna study of cross-validated trials, its tracked
results (search/<space>/) and the `dvc exp run` that trains the best trial in the pipeline.

    reuters-search run swem                 # 2 workers here (one per core)
    reuters-search run swem --storage postgresql://...   # the same on every machine
    reuters-search report swem              # trials, plots, paired comparison
    reuters-search best swem                # prints the promotion command
    reuters-search compare swem --against tfidf_logreg   # two studies' best, paired
    reuters-search COMMAND --help           # each command's options

(`python -m model_search` is the same command.)

Trials are scored by cross-validation on the training split; the test split is never read.
Not a DVC stage: a search runs for hours on as many machines as a team points at its storage, and
`report` writes what it found as plain files for git and `dvc plots show`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from importlib import metadata
from pathlib import Path

from model_search.settings import Settings
from reuters_rnn.data.dataset import DataError
from reuters_rnn.plumbing.failure import NOT_WRITABLE, FixableError


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


COMMANDS = {
    "run": (
        "run (or continue) a space's study: cross-validated trials in worker processes",
        "reuters-search run swem --workers 2\n"
        "reuters-search run swem --storage postgresql://user@host/search   # several machines",
    ),
    "report": (
        "write search/<study>/: trials, plots, the paired comparison with the current model",
        "reuters-search report swem",
    ),
    "best": (
        "print the `dvc exp run` that trains the study's best trial, or that none is due",
        "reuters-search best swem",
    ),
    "compare": (
        "two studies' best trials, paired over the same fits",
        "reuters-search compare swem --against tfidf_logreg",
    ),
}


def command_line() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reuters-search",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    # Every command's namespace has every setting: Settings.of reads them all.
    parser.set_defaults(workers=2, trials=None, out=None, against=None, force=False)
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("space", help="a space under `spaces:` in search.yaml")
    shared.add_argument("--search-file", default="search.yaml", help="(default: search.yaml)")
    shared.add_argument("--storage", help="Optuna storage URL (default: search.yaml's storage)")
    shared.add_argument("--study", help="study name (default: the space's name)")
    shared.add_argument(
        "--data", default="data/prepared", help="prepared data directory (default: data/prepared)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    made = {}
    for name, (summary, example) in COMMANDS.items():
        made[name] = commands.add_parser(
            name,
            parents=[shared],
            help=summary,
            description=summary,
            epilog=f"example:\n  {example.replace(chr(10), chr(10) + '  ')}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    made["run"].add_argument(
        "--workers", type=positive, default=2, help="worker processes here (default: 2)"
    )
    made["run"].add_argument("--trials", type=positive, help="trials in all (default: the space's)")
    made["report"].add_argument("--out", help="results folder (default: search/<study>)")
    made["report"].add_argument(
        "--force",
        action="store_true",
        help="replace search/<study>/ even where it holds more complete trials",
    )
    made["compare"].add_argument("--against", required=True, help="the other space")
    return parser


def version() -> str:
    try:
        return metadata.version("reuters-rnn")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def run_again(args: Settings) -> str:
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
    args = Settings.of(command_line().parse_args())
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


def storage_of(args: Settings) -> str:
    """The storage a command used: --storage, or the search file's (a SQLite URL as its path)."""
    from reuters_rnn.schema.params_file import read_yaml

    url = args.storage or str(read_yaml(args.search_file).get("storage"))
    return url.removeprefix("sqlite:///")


def dispatch(args: Settings) -> None:
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

    {"report": report, "best": best, "compare": compare}[args.command](args)


if __name__ == "__main__":
    main()
