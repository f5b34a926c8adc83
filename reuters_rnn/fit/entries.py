"""Every kind of params.yaml entry, and the one constructor from params and a name
(reuters_rnn.fit.entry says what an entry is)."""

from __future__ import annotations

from reuters_rnn.fit.baselines import Baseline
from reuters_rnn.fit.ensembling import Ensemble
from reuters_rnn.fit.entry import Entry
from reuters_rnn.fit.model_entry import Model
from reuters_rnn.schema.params import Params

KINDS: dict[str, type[Entry]] = {kind.section: kind for kind in (Model, Baseline, Ensemble)}


def section_of(params: Params, name: str) -> str:
    """Where params.yaml keeps `name`: "models", "baselines" or "ensembles" (a name is in one)."""
    for section in ("baselines", "ensembles"):
        if name in getattr(params, section):
            return section
    return "models"


def of(params: Params, name: str, spec=None) -> Entry:
    """The entry `name` of params.yaml (with `spec` in place of its own: a search's candidate)."""
    return KINDS[section_of(params, name)](params, name, spec)
