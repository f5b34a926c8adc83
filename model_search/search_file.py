"""search.yaml -> a validated SearchFile: every space checked against params.yaml's models (each
value a space can produce must make a valid spec), every problem reported at once; and what makes
two trials comparable (a study's identity).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from model_search.candidates import (
    candidate_model,
    current_value,
    entry,
    label,
    section,
    spec_for,
)
from model_search.space import (
    AnySpace,
    Choices,
    GridSpace,
    SearchError,
    SearchFile,
    TpeSpace,
)
from reuters_rnn.schema.params import Params, load_params, parse_params
from reuters_rnn.schema.params_file import ParamsError, read_yaml


def _check_values(params: Params, model: str, values: dict, where: str) -> list[str]:
    """What params.py's schema says about `model` with `values` set (with `where` for the key)."""
    fields = set(type(entry(params, model)).model_fields) - {"kind"}
    named = f"{section(params, model)}.{model}"
    problems = []
    for key in values:
        if key not in fields:
            close = difflib.get_close_matches(key, sorted(fields), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"keys: {', '.join(sorted(fields))}"
            problems.append(f"{where}.{key}: not a key of {named} ({hint})")
    if problems:
        return problems
    try:
        spec_for(params, model, values)
    except ParamsError as exc:
        return [f"{where}.{problem.removeprefix(f'{named}.')}" for problem in exc.problems]
    return []


def searchable(params: Params) -> list[str]:
    """What a space may vary or compare: the models, baselines and ensembles of params.yaml."""
    return [*params.models, *params.baselines, *params.ensembles]


def _check_space(params: Params, name: str, space: TpeSpace | GridSpace) -> list[str]:
    where = f"spaces.{name}"
    if space.model not in searchable(params):
        return [
            f"{where}.model: {space.model!r} is not a model, baseline or ensemble in params.yaml "
            f"({', '.join(searchable(params))})"
        ]
    problems = []
    if isinstance(space, GridSpace):
        for candidate in space.candidates:
            model, values = candidate_model(space, candidate)
            if model not in searchable(params):
                problems.append(
                    f"{where}.candidates.{candidate}.model: {model!r} is not a model, baseline or "
                    "ensemble in params.yaml"
                )
            else:
                problems += _check_values(params, model, values, f"{where}.candidates.{candidate}")
        return problems
    for key, distribution in space.keys.items():
        problems += _check_distribution(
            params, space.model, key, distribution, f"{where}.keys.{key}"
        )
    return problems


def _check_distribution(params: Params, model: str, key: str, distribution, at: str) -> list[str]:
    """Both ends of a range (or every choice) must make a valid spec, and the current value must
    lie inside: the current model is every search's reference."""
    if isinstance(distribution, Choices):
        ends = distribution.choices
    elif distribution.low > distribution.high:
        return [f"{at}: low ({distribution.low}) is above high ({distribution.high})"]
    elif distribution.log and distribution.low <= 0:
        return [f"{at}: a log range needs low > 0 (found {distribution.low})"]
    else:
        ends = (distribution.low, distribution.high)
    for value in ends:
        found = _check_values(params, model, {key: value}, at.rsplit(".", 1)[0])
        if found:
            return found
    current = current_value(params, model, key)
    if isinstance(distribution, Choices):
        inside = label(current) in [label(choice) for choice in distribution.choices]
    else:
        inside = current is not None and distribution.low <= current <= distribution.high
    if inside:
        return []
    return [
        f"{at}: must include {section(params, model)}.{model}.{key} as params.yaml has it "
        f"({current!r}), "
        "since every trial is compared with the current model"
    ]


def _describe(error: Mapping[str, Any]) -> str:
    where = ".".join(
        str(part) for part in error["loc"] if part not in ("tpe", "grid", "int", "float", "choices")
    )
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    if error["type"] == "missing":
        return f"{where}: missing (required)"
    return f"{where}: {error['input']!r} is not allowed ({error['msg'].lower()})"


def load_search(path: str | Path, params: Params, space: str | None = None) -> SearchFile:
    """Read and validate search.yaml against params.yaml's models; one error naming every problem.
    With `space`, only that space is read (and must be there): a problem in another space does not
    stop a command about this one."""
    path = Path(path)
    raw = read_yaml(path)
    spaces = raw.get("spaces")
    if space is not None and isinstance(spaces, dict):
        if space not in spaces:
            raise SearchError(f"search: no space {space!r} in {path} (it has {', '.join(spaces)})")
        raw = {**raw, "spaces": {space: spaces[space]}}
    problems = []
    try:
        search = SearchFile.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]
    # Each space that is well-formed on its own is checked against params.yaml too, so one run
    # names every problem.
    spaces = raw.get("spaces") if isinstance(raw, dict) else None
    for name, value in (spaces if isinstance(spaces, dict) else {}).items():
        try:
            well_formed = TypeAdapter(AnySpace).validate_python(value)
        except ValidationError:
            continue
        problems += _check_space(params, name, well_formed)
    if problems:
        lines = "\n  - ".join(dict.fromkeys(problems))
        raise ParamsError(
            f"{path} has {len(problems)} problem(s):\n  - {lines}\nFix these keys in {path} and run the search again."
        )
    return search


def searched_params(params: Params, search: SearchFile, path: str | Path) -> Params:
    """params.yaml as a search trains with it: the search file's seeds, when it names some."""
    if search.seeds is None:
        return params
    train = {**params.train.model_dump(), "seeds": list(search.seeds)}
    return parse_params({**params.model_dump(), "train": train}, str(path))


def command_space(args) -> tuple[Params, SearchFile, TpeSpace | GridSpace]:
    """What a search command (`args`: search_file, space) works with: params.yaml as the search
    trains with it, the checked search file, and the space it names."""
    params = load_params()
    search = load_search(args.search_file, params, args.space)
    space = search.spaces[args.space]  # load_search has named a space it lacks
    return searched_params(params, search, args.search_file), search, space


def space_identity(search: SearchFile, name: str, params: Params) -> dict:
    """What makes two trials comparable, as JSON data: the space, the folds, and every params.yaml
    setting a trial trains with (the models it starts from, seeds, defaults, batch, backend)."""
    space = search.spaces[name]
    models = {space.model}
    if isinstance(space, GridSpace):
        models |= {candidate_model(space, candidate)[0] for candidate in space.candidates}
    for ensemble in models & set(params.ensembles):  # an ensemble is scored with its members
        models |= set(params.ensembles[ensemble].members)
    train = params.train.model_dump(exclude={"resume", "checkpoint_every", "validation_split"})
    identity = {
        "space": space.model_dump(mode="json", warnings=False),
        "folds": search.folds,
        "models": {model: entry(params, model).model_dump(mode="json") for model in models},
        "train": train,
        "num_words": params.data.num_words,
    }
    return json.loads(json.dumps(identity, sort_keys=True))  # as a storage gives it back
