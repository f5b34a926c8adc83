"""From a search space to models: a grid candidate's model and keys, a spec with a trial's values
set (checked by params.yaml's schema), and the current model every trial is compared with.

A space's or candidate's `model` names an entry of params.yaml's `models:`, `baselines:` or
`ensembles:`; a baseline is searched like a model (its keys, the same folds), without epochs or
seeds, and an ensemble averages its members' fits on the same folds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reuters_rnn.schema.params import Params, parse_params
from reuters_rnn.schema.specs import ModelSpec, Section

if TYPE_CHECKING:
    from model_search.space import GridSpace

# The current model's candidate in a grid (added when no candidate leaves the model as it is).
CURRENT = "current"


def section(params: Params, model: str) -> str:
    """Where params.yaml keeps `model`: "models", "baselines" or "ensembles" (a name is in one)."""
    if model in params.baselines:
        return "baselines"
    return "ensembles" if model in params.ensembles else "models"


def entry(params: Params, model: str) -> ModelSpec | Section:
    """params.yaml's spec of a model or a baseline."""
    return getattr(params, section(params, model))[model]


def spec_for(params: Params, model: str, values: dict[str, Any]) -> ModelSpec | Section:
    """params.yaml's spec of `model` with `values` set, validated by params.py's schema."""
    where = section(params, model)
    spec = {**entry(params, model).model_dump(exclude_none=True), **values}
    raw = {**params.model_dump(), "report": {}, "ensembles": {}, where: {model: spec}}
    return getattr(parse_params(raw, "search.yaml"), where)[model]


def trained_as(spec: ModelSpec | Section, params: Params) -> dict[str, Any]:
    """A spec with the epochs and learning rate it trains with (train:'s when it sets none)."""
    if not isinstance(spec, ModelSpec):  # a baseline: its keys are all it trains with
        return spec.model_dump()
    return {
        **spec.model_dump(),
        "epochs": spec.trained_epochs(params.train),
        "learning_rate": spec.trained_learning_rate(params.train),
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
    if key in ("epochs", "learning_rate") and model in params.models:
        return getattr(params, key)(model)
    value = getattr(entry(params, model), key)
    return list(value) if isinstance(value, tuple) else value
