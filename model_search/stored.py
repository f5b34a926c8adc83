"""A study as the search commands find it: in its storage (search.yaml's, or --storage), or not
there at all (a fresh clone, a study not run yet), and the command that runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from model_search.search_file import command_space
from model_search.settings import Settings
from model_search.space import SearchError
from model_search.study import open_storage


class StudyMissing(SearchError):
    """No storage holds the study (a fresh clone has no search/studies.db)."""


def run_command(args: Settings, verb: str = "run") -> str:
    """The command that runs (starts or continues) the study `args` names, as a user types it;
    or another verb of it (best, report)."""
    study = f" --study {args.study}" if args.study and args.study != args.space else ""
    return f"reuters-search {verb} {args.space}{study}"


@dataclass(frozen=True)
class Stored:
    """What a search command works with: params.yaml as the search trains with it, the search
    file, the space, and the study (None where no storage holds it)."""

    params: Any  # reuters_rnn.schema.params.Params
    search: Any  # model_search.space.SearchFile
    space: Any  # TpeSpace | GridSpace
    study: optuna.Study | None


def stored_study(args: Settings) -> Stored:
    """The space and the study from its storage (study None where no storage holds it: a fresh
    clone, or a study not run yet)."""
    params, search, space = command_space(args)
    name = args.study or args.space
    url = args.storage or search.storage
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return Stored(params, search, space, None)  # no empty database made just to look
    try:
        study = optuna.load_study(study_name=name, storage=open_storage(url, search))
    except KeyError:
        return Stored(params, search, space, None)
    return Stored(params, search, space, study)


def missing(args: Settings) -> StudyMissing:
    name = args.study or args.space
    return StudyMissing(
        f"search: no study {name!r} in the storage; run `{run_command(args)}` first"
    )


@dataclass(frozen=True)
class Loaded:
    """A study that its storage holds, with its complete trials (load)."""

    params: Any  # reuters_rnn.schema.params.Params
    search: Any  # model_search.space.SearchFile
    space: Any  # TpeSpace | GridSpace
    study: optuna.Study
    complete: tuple[FrozenTrial, ...]


def load(args: Settings) -> Loaded:
    """The stored study with its complete trials; StudyMissing where no storage holds the
    study, a SearchError where it has no complete trial."""
    found = stored_study(args)
    if found.study is None:
        raise missing(args)
    return Loaded(
        found.params, found.search, found.space, found.study, tuple(complete_trials(found.study))
    )


def complete_trials(study: optuna.Study) -> list:
    """The study's complete trials; a SearchError where there is none yet."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise SearchError(f"search {study.study_name}: no complete trial yet")
    return complete
