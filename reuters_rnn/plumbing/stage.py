"""How every stage command starts: its arguments read, params.yaml loaded and checked (every
problem at once), and the guard started that fails the stage if its params or code change while it
runs (reuters_rnn.plumbing.guard). The stage then works, calls `stage.guard.check(outputs)`, and
runs under reuters_rnn.plumbing.failure.run_stage, which ends any failure with one line."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from reuters_rnn.plumbing.guard import InputsGuard
from reuters_rnn.schema.params import Params, load_params


@dataclass(frozen=True)
class Stage:
    args: argparse.Namespace
    params: Params
    guard: InputsGuard


def begin(parser: argparse.ArgumentParser, label: str) -> Stage:
    """Parse the command line, load params.yaml, start the guard. `label` names the stage in its
    messages, formatted with the arguments: "evaluate {model}" -> "evaluate lstm"."""
    args = parser.parse_args()
    params = load_params()
    return Stage(args, params, InputsGuard(label.format_map(vars(args))))
