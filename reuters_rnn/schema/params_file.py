"""params.yaml as a file: read strictly (missing, empty, not a mapping, a key given twice), and
each pydantic error turned into the line a user reads (the dotted key, the allowed values, "did you
mean"). reuters_rnn.schema.params holds the schema; model_search's search file is read the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel

from reuters_rnn.plumbing.failure import FixableError
from reuters_rnn.schema.specs import BASELINE_KINDS, MODEL_KINDS


class ParamsError(FixableError):
    """params.yaml is unusable; the message lists every problem found, and `problems` holds them
    as data (one line each: the dotted key, what is wrong), for a caller that names them anew."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (the YAML spec forbids it,
    DVC refuses such a file, and PyYAML would silently keep the last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`: the loader merges it
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} appears twice (lines {seen[key] + 1} and "
                    f"{key_node.start_mark.line + 1}); keep one",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def read_yaml(path: str | Path) -> Any:
    """A YAML file's contents; ParamsError when it is missing, empty, not YAML, not a mapping of
    sections, or gives a key twice."""
    path = Path(path)
    restore = f"restore it with `git checkout HEAD -- {path.name}`"
    try:
        raw = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader
    except UnicodeDecodeError as exc:
        raise ParamsError(
            f"{path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}): "
            f"save it as UTF-8, or {restore}"
        ) from None
    except FileNotFoundError:
        raise ParamsError(
            f"{path} not found: run from the project root, or restore it with "
            f"`git checkout {path.name}`"
        ) from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path} is not valid YAML: {exc}") from None
    if raw is None:
        raise ParamsError(f"{path} is empty: {restore}")
    if not isinstance(raw, dict):
        raise ParamsError(
            f"{path} must be a mapping of sections, not {type(raw).__name__}: {restore}"
        )
    return raw


def _where(loc: tuple) -> str:
    """pydantic's error location -> the dotted key a user edits (union tags dropped)."""
    if len(loc) > 2 and loc[0] in ("models", "baselines"):
        loc = loc[:2] + loc[3:]  # ("models", "lstm", "recurrent", "cell") -> models.lstm.cell
    return ".".join(str(part) for part in loc)


def _schema_at(loc: tuple, root: type[BaseModel]) -> type[BaseModel] | None:
    """The section class whose keys are allowed where an unknown key was found: followed
    field by field from the root, through a named entry (`ensembles.<name>`) and an optional
    section (`train.early_stopping`)."""
    if len(loc) > 3 and loc[0] in ("models", "baselines"):
        return (MODEL_KINDS | BASELINE_KINDS).get(str(loc[2]))
    schema: Any = root
    for part in loc[:-1]:
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            if get_origin(schema) is dict:  # an entry's name: its value's class
                schema = get_args(schema)[1]
                continue
            return None
        field = schema.model_fields.get(str(part))
        if field is None:
            return None
        schema = field.annotation
        classes = [a for a in get_args(schema) if isinstance(a, type) and issubclass(a, BaseModel)]
        if get_origin(schema) is not dict and classes:  # `X | None`: X
            schema = classes[0]
    return schema if isinstance(schema, type) and issubclass(schema, BaseModel) else None


def describe(error: Mapping[str, Any], root: type[BaseModel]) -> str:
    """One pydantic error as the line a user reads: the dotted key, what is wrong, a hint."""
    where, kind = _where(error["loc"]), error["type"]
    if kind == "unknown_kind":
        return f"{where}: kind {error['input'].get('kind')!r} is not allowed ({error['msg']})"
    if kind == "extra_forbidden":
        schema = _schema_at(error["loc"], root)
        names = list(schema.model_fields) if schema else []
        close = difflib.get_close_matches(str(error["loc"][-1]), names, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(names)}"
        return f"{where}: unknown key ({hint})"
    if kind == "missing" and where in ("baselines", "ensembles"):
        return f"{where}: missing (required: `{where}: {{}}` for none; dvc.yaml reads it)"
    if kind == "missing":
        return f"{where}: missing (required)"
    if where.startswith(("models.", "baselines.")) and kind == "string_pattern_mismatch":
        return (
            f"{where.split('.[key]')[0]}: name not usable as a DVC stage key "
            "(use lowercase letters, digits and '_', starting with a letter)"
        )
    if kind == "value_error":
        message = error["msg"].removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return f"{where}: {error['input']!r} is not allowed ({error['msg'].lower()})"
