"""The schema of search.yaml: which model spec keys a search varies, over what.

A space varies one params.yaml model (`model:`). A TPE space gives ranges and choices per spec key;
a grid space gives named candidates, each a set of spec keys (optionally on another model). The
file-level settings (folds, storage, heartbeats, pruning) have no defaults here: search.yaml is
the one place that holds them. model_search.search_file checks the spaces against params.yaml.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, StrictBool, StrictInt, StrictStr, Tag

from reuters_rnn.plumbing.failure import FixableError
from reuters_rnn.schema.specs import NAME, Number, Section

MAX_TRIALS = 10_000


class SearchError(FixableError):
    """A search command refused (an unknown space, a study scored under other settings, a
    study without a complete trial); its message says what to run instead."""


class IntRange(Section):
    low: StrictInt
    high: StrictInt
    log: StrictBool = False
    step: Annotated[StrictInt, Field(ge=1)] = 1


class FloatRange(Section):
    low: Number
    high: Number
    log: StrictBool = False
    step: Annotated[Number, Field(gt=0)] | None = None


class Choices(Section):
    """Values of one key; a list value (pooling, units) is one choice."""

    choices: Annotated[tuple[Any, ...], Field(min_length=1)]


def _range_kind(value: Any) -> str:
    if not isinstance(value, dict) or "choices" in value:
        return "choices"
    ints = all(isinstance(value.get(end), int) for end in ("low", "high"))
    return "int" if ints and not isinstance(value.get("step"), float) else "float"


Distribution = Annotated[
    Annotated[IntRange, Tag("int")]
    | Annotated[FloatRange, Tag("float")]
    | Annotated[Choices, Tag("choices")],
    Discriminator(_range_kind),
]
SpaceName = Annotated[StrictStr, Field(pattern=NAME)]


# How a space's trials are stopped early (SearchFile.pruning has the settings): a trial's
# resource is its fits, so "full fidelity" is a trial that ran them all.
Pruner = Literal["successive_halving", "hyperband", "median", "none"]


class TpeSpace(Section):
    """Optuna's TPE sampler over ranges and choices of the model's spec keys."""

    sampler: Literal["tpe"] = "tpe"
    model: SpaceName
    trials: Annotated[StrictInt, Field(ge=1, le=MAX_TRIALS)]
    keys: Annotated[dict[StrictStr, Distribution], Field(min_length=1)]
    pruner: Pruner = "successive_halving"
    seed: Annotated[StrictInt, Field(ge=0)] = 0


class GridSpace(Section):
    """Named candidates, each tried once: spec keys to set on the model (or on `model:` named
    inside the candidate)."""

    sampler: Literal["grid"]
    model: SpaceName
    candidates: Annotated[dict[SpaceName, dict[StrictStr, Any]], Field(min_length=1)]
    pruner: Pruner = "none"


AnySpace = Annotated[
    Annotated[TpeSpace, Tag("tpe")] | Annotated[GridSpace, Tag("grid")],
    Discriminator(
        lambda v: v.get("sampler", "tpe") if isinstance(v, dict) else v.sampler,
        custom_error_type="unknown_sampler",
        custom_error_message="sampler must be one of tpe | grid",
    ),
]


class Pruning(Section):
    """How a pruner stops a trial between its fits (each fit reports the mean held-out accuracy
    of the fits so far). successive_halving and hyperband (Optuna's, reduction_factor 3: a
    third of the trials reaching a rung go on) first judge after `min_fits` fits; median stops
    a trial below the median of earlier trials at the same fit, never before `startup_trials`
    trials have finished nor in a trial's first `warmup_fits` fits."""

    min_fits: Annotated[StrictInt, Field(ge=1, le=1_000)] = 1
    reduction_factor: Annotated[StrictInt, Field(ge=2, le=10)] = 3
    startup_trials: Annotated[StrictInt, Field(ge=0, le=MAX_TRIALS)] = 5
    warmup_fits: Annotated[StrictInt, Field(ge=0, le=1_000)] = 1


class SearchFile(Section):
    folds: Annotated[StrictInt, Field(ge=2, le=100)]
    # The seeds each fold trains once with; default: params.yaml's train.seeds.
    seeds: Annotated[tuple[StrictInt, ...], Field(min_length=1)] | None = None
    storage: StrictStr
    heartbeat_seconds: Annotated[StrictInt, Field(ge=1, le=3600)]
    grace_seconds: Annotated[StrictInt, Field(ge=2, le=36000)]
    pruning: Pruning = Pruning()
    spaces: Annotated[dict[SpaceName, AnySpace], Field(min_length=1)]
