"""params.yaml -> typed, validated objects for every stage.

One parse, one place for errors: load_params() checks every key of every section and raises a
single ParamsError that lists each bad key with the allowed value or range.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

CELLS = ("simple_rnn", "lstm", "gru")
BACKENDS = ("tensorflow", "jax")
PADDINGS = ("pre", "post")
BASELINE_KINDS = ("majority", "tfidf_logreg")
# DVC joins matrix values with "-" into stage names (train@lstm-1), so names keep to this.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class ParamsError(SystemExit):
    """params.yaml is unusable; the message lists every problem found.

    A SystemExit, so that a stage that does not catch it ends with this message (exit status 1)
    rather than a traceback.
    """


@dataclass(frozen=True)
class DataParams:
    url: str
    sha256: str
    num_words: int
    maxlen: int
    test_split: float
    seed: int
    padding: str


@dataclass(frozen=True)
class TrainParams:
    epochs: int
    batch_size: int
    learning_rate: float
    seeds: tuple[int, ...]
    backend: str
    resume: bool = True


@dataclass(frozen=True)
class ModelSpec:
    cell: str
    units: tuple[int, ...]
    embedding_dim: int | None = None
    bidirectional: bool = False


@dataclass(frozen=True)
class BaselineSpec:
    kind: str
    C: float = 1.0
    ngram_max: int = 1
    max_iter: int = 1000


@dataclass(frozen=True)
class ReportParams:
    published: dict[str, float] = field(default_factory=dict)
    confidence: float = 0.95
    comparisons: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Params:
    data: DataParams
    train: TrainParams
    models: dict[str, ModelSpec]
    report: ReportParams
    baselines: dict[str, BaselineSpec] = field(default_factory=dict)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def _is_int_list(v: Any) -> bool:
    return isinstance(v, list) and all(_is_int(x) for x in v)


# kind name -> (type test, converter)
_KINDS: dict[str, tuple[Callable[[Any], bool], Callable[[Any], Any]]] = {
    "an integer": (_is_int, int),
    "a number": (_is_number, float),
    "a string": (lambda v: isinstance(v, str), str),
    "true or false": (lambda v: isinstance(v, bool), bool),
    "a list of integers": (_is_int_list, tuple),
    "a mapping": (lambda v: isinstance(v, Mapping), dict),
    "a list": (lambda v: isinstance(v, list), list),
}


class _Checker:
    """Collects every problem of one params file instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def section(self, where: str, raw: Any, cls: type) -> dict[str, Any] | None:
        """Check a mapping against a dataclass's fields: unknown, missing and mistyped keys."""
        if not isinstance(raw, Mapping):
            self.errors.append(f"{where}: expected a mapping of keys, found {raw!r}")
            return None
        names = [f.name for f in fields(cls)]
        required = [
            f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
        ]
        for key in raw:
            if key not in names:
                close = difflib.get_close_matches(str(key), names, n=1)
                hint = (
                    f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(names)}"
                )
                self.errors.append(f"{where}.{key}: unknown key ({hint})")
        for key in required:
            if key not in raw:
                self.errors.append(f"{where}.{key}: missing (required)")
        return {k: v for k, v in raw.items() if k in names}

    def value(
        self,
        values: dict[str, Any],
        where: str,
        key: str,
        kind: str,
        ok: Callable[[Any], bool] = lambda v: True,
        allowed: str = "",
    ) -> None:
        """Type-check and range-check one key in place; drop it when bad."""
        if key not in values:
            return
        raw = values[key]
        is_kind, convert = _KINDS[kind]
        if not is_kind(raw):
            self.errors.append(f"{where}.{key}: expected {kind}, found {raw!r}")
        elif not ok(raw):
            self.errors.append(f"{where}.{key}: {raw!r} is not allowed (allowed: {allowed})")
        else:
            values[key] = convert(raw)
            return
        del values[key]


def _build(cls: type, values: dict[str, Any] | None) -> Any:
    return cls(**values) if values is not None else None


def _check_data(c: _Checker, raw: Any) -> DataParams | None:
    v = c.section("data", raw, DataParams)
    if v is None:
        return None
    c.value(v, "data", "url", "a string", lambda s: "://" in s, "a URL such as https://…")
    c.value(
        v,
        "data",
        "sha256",
        "a string",
        lambda s: re.fullmatch(r"[0-9a-f]{64}", s) is not None,
        "64 lowercase hex digits",
    )
    c.value(v, "data", "num_words", "an integer", lambda n: n >= 4, ">= 4 (ids 0-2 are reserved)")
    c.value(v, "data", "maxlen", "an integer", lambda n: n >= 2, ">= 2")
    c.value(v, "data", "test_split", "a number", lambda x: 0 < x < 1, "strictly between 0 and 1")
    c.value(v, "data", "seed", "an integer", lambda n: n >= 0, ">= 0")
    c.value(v, "data", "padding", "a string", lambda s: s in PADDINGS, " | ".join(PADDINGS))
    return _build(DataParams, v) if len(v) == len(fields(DataParams)) else None


def _check_train(c: _Checker, raw: Any) -> TrainParams | None:
    v = c.section("train", raw, TrainParams)
    if v is None:
        return None
    c.value(v, "train", "epochs", "an integer", lambda n: n >= 1, ">= 1")
    c.value(v, "train", "batch_size", "an integer", lambda n: n >= 1, ">= 1")
    c.value(v, "train", "learning_rate", "a number", lambda x: x > 0, "> 0")
    c.value(
        v,
        "train",
        "seeds",
        "a list of integers",
        lambda s: len(s) > 0 and len(set(s)) == len(s) and min(s) >= 0,
        "a non-empty list of distinct integers >= 0",
    )
    c.value(v, "train", "backend", "a string", lambda s: s in BACKENDS, " | ".join(BACKENDS))
    c.value(v, "train", "resume", "true or false")
    required = {f.name for f in fields(TrainParams)} - {"resume"}
    return _build(TrainParams, v) if required <= v.keys() else None


def _check_name(c: _Checker, where: str, name: Any) -> bool:
    if isinstance(name, str) and NAME_PATTERN.match(name):
        return True
    c.errors.append(
        f"{where}.{name}: name not usable as a DVC stage key "
        "(use lowercase letters, digits and '_', starting with a letter)"
    )
    return False


def _check_models(c: _Checker, raw: Any) -> dict[str, ModelSpec]:
    if not isinstance(raw, Mapping) or not raw:
        c.errors.append(
            f"models: expected a non-empty mapping of model name -> spec, found {raw!r}"
        )
        return {}
    models = {}
    for name, spec in raw.items():
        where = f"models.{name}"
        if not _check_name(c, "models", name):
            continue
        v = c.section(where, spec, ModelSpec)
        if v is None:
            continue
        c.value(v, where, "cell", "a string", lambda s: s in CELLS, " | ".join(CELLS))
        if _is_int(v.get("units")):  # `-S models.lstm.units=60` means one layer of 60
            v["units"] = [v["units"]]
        c.value(
            v,
            where,
            "units",
            "a list of integers",
            lambda u: len(u) > 0 and min(u) >= 1,
            "a non-empty list of integers >= 1, one per recurrent layer",
        )
        if v.get("embedding_dim") is not None:
            c.value(v, where, "embedding_dim", "an integer", lambda n: n >= 1, ">= 1, or null")
        c.value(v, where, "bidirectional", "true or false")
        if {"cell", "units"} <= v.keys():
            models[name] = ModelSpec(**v)
    return models


def _check_baselines(c: _Checker, raw: Any) -> dict[str, BaselineSpec]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        c.errors.append(f"baselines: expected a mapping of baseline name -> spec, found {raw!r}")
        return {}
    baselines = {}
    for name, spec in raw.items():
        where = f"baselines.{name}"
        if not _check_name(c, "baselines", name):
            continue
        v = c.section(where, spec, BaselineSpec)
        if v is None:
            continue
        c.value(
            v, where, "kind", "a string", lambda s: s in BASELINE_KINDS, " | ".join(BASELINE_KINDS)
        )
        c.value(v, where, "C", "a number", lambda x: x > 0, "> 0")
        c.value(v, where, "ngram_max", "an integer", lambda n: n >= 1, ">= 1")
        c.value(v, where, "max_iter", "an integer", lambda n: n >= 1, ">= 1")
        if "kind" in v:
            baselines[name] = BaselineSpec(**v)
    return baselines


def _check_report(c: _Checker, raw: Any, models: list[str]) -> ReportParams | None:
    v = c.section("report", raw if raw is not None else {}, ReportParams)
    if v is None:
        return None
    c.value(v, "report", "published", "a mapping")
    for name, acc in v.get("published", {}).items():
        if not (_is_number(acc) and 0 <= acc <= 1):
            c.errors.append(
                f"report.published.{name}: expected an accuracy in [0, 1], found {acc!r}"
            )
    c.value(v, "report", "confidence", "a number", lambda x: 0 < x < 1, "strictly between 0 and 1")
    c.value(v, "report", "comparisons", "a list")
    pairs = []
    for pair in v.get("comparisons", []):
        if not (isinstance(pair, list) and len(pair) == 2 and all(p in models for p in pair)):
            c.errors.append(
                f"report.comparisons: {pair!r} must be a pair [model_a, model_b] of names under "
                f"models ({', '.join(models)})"
            )
            continue
        pairs.append((pair[0], pair[1]))
    v["comparisons"] = tuple(pairs)
    return ReportParams(**v)


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate a parsed params mapping; raise one ParamsError naming every bad key."""
    c = _Checker()
    sections = c.section("params", raw if isinstance(raw, Mapping) else None, Params) or {}
    data = _check_data(c, sections["data"]) if "data" in sections else None
    train = _check_train(c, sections["train"]) if "train" in sections else None
    models = _check_models(c, sections["models"]) if "models" in sections else {}
    baselines = _check_baselines(c, sections.get("baselines"))
    # Comparisons may name a model whose spec has its own error: report that error only.
    raw_models = sections.get("models")
    model_names = [str(name) for name in raw_models] if isinstance(raw_models, Mapping) else []
    report = _check_report(c, sections.get("report"), model_names)
    if c.errors:
        lines = "\n  - ".join(c.errors)
        raise ParamsError(
            f"{source} has {len(c.errors)} problem(s):\n  - {lines}\n"
            f"Fix these keys in {source} and run the stage again."
        )
    return Params(data=data, train=train, models=models, report=report, baselines=baselines)


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml (the single source of every number the stages use)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path} not found: run the stage from the project root") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path} is not valid YAML: {exc}") from None
    return parse_params(raw, str(path))
