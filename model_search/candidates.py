"""From a search space to models: a grid candidate's model and keys, a spec with a trial's values
set (checked by params.yaml's schema), and the current model every trial is compared with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reuters_rnn.params import Params, parse_params
from reuters_rnn.specs import ModelSpec

if TYPE_CHECKING:
    from model_search.space import GridSpace

# The current model's candidate in a grid (added when no candidate leaves the model as it is).
CURRENT = "current"


def spec_for(params: Params, model: str, values: dict[str, Any]) -> ModelSpec:
    """params.yaml's spec of `model` with `values` set, validated by params.py's schema."""
    spec = {**params.models[model].model_dump(exclude_none=True), **values}
    raw = {**params.model_dump(), "models": {model: spec}, "report": {}}
    return parse_params(raw, "search.yaml").models[model]


def trained_as(spec: ModelSpec, params: Params) -> dict[str, Any]:
    """A spec with the epochs and learning rate it trains with (train:'s when it sets none)."""
    return {
        **spec.model_dump(),
        "epochs": spec.epochs or params.train.epochs,
        "learning_rate": spec.learning_rate or params.train.learning_rate,
    }


def candidate_model(space: GridSpace, name: str) -> tuple[str, dict[str, Any]]:
    """A grid candidate's model and the spec keys it sets."""
    values = dict(space.candidates[name])
    return values.pop("model", space.model), values


def grid_candidates(space: GridSpace) -> list[str]:
    """The candidates, with `current` (the model as params.yaml has it) first when none is."""
    names = list(space.candidates)
    if any(candidate_model(space, name) == (space.model, {}) for name in names):
        return names
    return [CURRENT, *names]


def label(value: Any) -> Any:
    """An Optuna choice for a value (Optuna's choices are scalars): a list becomes "a,b"."""
    return ",".join(map(str, value)) if isinstance(value, list | tuple) else value


def current_value(params: Params, model: str, key: str) -> Any:
    """The value the current model trains with (epochs and learning_rate may come from train:)."""
    if key in ("epochs", "learning_rate"):
        return getattr(params, key)(model)
    value = getattr(params.models[model], key)
    return list(value) if isinstance(value, tuple) else value
