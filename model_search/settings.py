"""What a search command was asked, as data: the space (with its study, search file, storage and
data) and the command's own options. The command line makes one (Settings.of); the search's
functions take it, never the argparse object, and a command about another space derives one
(`dataclasses.replace`)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Settings:
    command: str
    space: str
    search_file: str = "search.yaml"
    storage: str | None = None  # default: the search file's
    study: str | None = None  # default: the space's name
    data: str = "data/prepared"
    workers: int = 2  # run
    trials: int | None = None  # run; default: the space's budget
    out: str | None = None  # report; default: search/<study>
    force: bool = False  # report
    against: str | None = None  # compare

    @classmethod
    def of(cls, args: argparse.Namespace) -> Settings:
        """The settings a parsed command line gives (every command's options, defaults where a
        command has none of its own)."""
        return cls(**{field.name: getattr(args, field.name) for field in fields(cls)})
