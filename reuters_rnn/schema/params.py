"""params.yaml -> frozen, typed objects that every stage reads; the one place for params errors.

The schema is pydantic v2: every problem is reported at once (the checks across sections too), as
dotted key names with the allowed values, plus a "did you mean" hint for misspelled keys. The
sections are in reuters_rnn.schema.sections, the model and baseline entries in reuters_rnn.schema.specs, and
reading the file and wording its problems in reuters_rnn.schema.params_file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    Field,
    StrictStr,
    ValidationError,
    model_validator,
)

from reuters_rnn.schema.params_file import ParamsError, describe, read_yaml
from reuters_rnn.schema.sections import DataParams, EnsembleSpec, ReportParams, TrainParams
from reuters_rnn.schema.specs import (
    NAME,
    AnyBaselineSpec,
    AnyModelSpec,
    Section,
)


class Params(Section):
    data: DataParams
    train: TrainParams
    models: Annotated[
        dict[Annotated[StrictStr, Field(pattern=NAME)], AnyModelSpec], Field(min_length=1)
    ]
    # Required, `{}` for none: dvc.yaml's foreach reads both sections.
    baselines: dict[Annotated[StrictStr, Field(pattern=NAME)], AnyBaselineSpec]
    ensembles: dict[Annotated[StrictStr, Field(pattern=NAME)], EnsembleSpec]
    report: ReportParams = ReportParams()

    @model_validator(mode="after")
    def _data_length(self) -> Params:
        data = self.data
        if data.maxlen is None and data.pad_to is None:
            raise ValueError(
                "data.maxlen: null keeps every newswire, so data.pad_to must say the length to "
                "pad or truncate them to (e.g. 300)"
            )
        if data.maxlen is not None and data.pad_to is not None and data.pad_to >= data.maxlen:
            raise ValueError(
                f"data.pad_to {data.pad_to} is no shorter than data.maxlen {data.maxlen}, which "
                f"keeps newswires of at most {data.maxlen - 1} words: it would only add padding; "
                "lower data.pad_to or remove it"
            )
        return self

    @model_validator(mode="after")
    def _buckets_fit_the_length(self) -> Params:
        buckets, length = self.train.length_buckets, self.data.length()
        if list(buckets) != sorted(set(buckets)) or (buckets and buckets[-1] >= length):
            raise ValueError(
                f"train.length_buckets: {list(buckets)} must be increasing lengths below the "
                f"padded length {length} (data.pad_to, or data.maxlen - 1), e.g. "
                f"{[b for b in (32, 64, 128, 256) if b < length]}"
            )
        return self

    @model_validator(mode="after")
    def _one_name_one_thing(self) -> Params:
        for section, names in (("baselines", self.baselines), ("ensembles", self.ensembles)):
            taken = set(self.models) | (set(self.baselines) if section == "ensembles" else set())
            both = sorted(set(names) & taken)
            if both:
                raise ValueError(
                    f"{section}: {', '.join(both)} also name(s) a model or baseline; rename one "
                    "(each name has its own results: metrics/predictions/<name>.csv)"
                )
        return self

    @model_validator(mode="after")
    def _ensembles_average_probabilities(self) -> Params:
        averaged = {*self.models, *(b for b, s in self.baselines.items() if s.probabilities)}
        for name, spec in self.ensembles.items():
            bad = [m for m in spec.members if m not in averaged]
            if bad:
                raise ValueError(
                    f"ensembles.{name}.members: {', '.join(bad)} is no model or baseline with "
                    f"probabilities; choose from {', '.join(sorted(averaged))} (an SVM's "
                    "scores are margins, which do not average)"
                )
            if not set(spec.members) & set(self.models):
                raise ValueError(f"ensembles.{name}.members: name at least one model")
            if spec.seeds == "each" and len(spec.members) < 2:
                raise ValueError(
                    f"ensembles.{name}: one member with seeds: each is that model itself; add "
                    "a member, or set seeds: pooled to average its seeds"
                )
        return self

    @model_validator(mode="after")
    def _comparisons_name_models(self) -> Params:
        named = [*self.models, *self.ensembles]
        for pair in self.report.comparisons:
            if not set(pair) <= set(named):
                raise ValueError(
                    f"report.comparisons: {list(pair)} must be a pair [model_a, model_b] of names "
                    f"under models or ensembles ({', '.join(named)})"
                )
            if pair[0] == pair[1]:
                raise ValueError(
                    f"report.comparisons: {list(pair)} compares {pair[0]} with itself; name two "
                    "different models or ensembles"
                )
        unknown = sorted(set(self.report.published) - set(self.models))
        if unknown:
            raise ValueError(
                f"report.published: {', '.join(unknown)} is no model under models; use one of "
                f"{', '.join(self.models)} (or remove it)"
            )
        return self

    def scored(self) -> list[str]:
        """What is trained, or made of trainings, and scored per seed: models, then ensembles."""
        return [*self.models, *self.ensembles]

    def epochs(self, model: str) -> int:
        return self.models[model].trained_epochs(self.train)

    def learning_rate(self, model: str) -> float:
        return self.models[model].trained_learning_rate(self.train)


def _across_sections(raw: dict) -> list[str]:
    """The checks that span sections (Params' model validators), run on the raw values where
    other keys are bad: pydantic runs them only once every key is valid, and a user should see
    every problem in one run. A check whose keys are themselves unreadable is left out."""
    sections: dict[str, type[BaseModel]] = {
        "data": DataParams,
        "train": TrainParams,
        "report": ReportParams,
    }
    built: dict[str, Any] = {
        name: kind.model_construct(**raw[name])
        for name, kind in sections.items()
        if isinstance(raw.get(name), dict)
    }
    shell = Params.model_construct(
        **built,
        models=raw.get("models") if isinstance(raw.get("models"), dict) else {},
        baselines=raw.get("baselines") if isinstance(raw.get("baselines"), dict) else {},
        ensembles=raw.get("ensembles") if isinstance(raw.get("ensembles"), dict) else {},
    )
    problems = []
    for check in (
        "_data_length",
        "_buckets_fit_the_length",
        "_one_name_one_thing",
        "_ensembles_average_probabilities",
        "_comparisons_name_models",
    ):
        try:
            getattr(Params, check)(shell)
        except ValueError as exc:
            problems.append(str(exc))
        except Exception:  # noqa: BLE001 - a check over keys that are bad themselves
            continue
    return problems


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate a parsed params mapping; raise one ParamsError naming every bad key, the checks
    across sections included."""
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        # A list whose every element is bad is also "too short" once they are dropped: only the
        # elements' own problems are true.
        errors = [
            e
            for e in errors
            if e["type"] != "too_short"
            or not any(o["loc"][: len(e["loc"])] == e["loc"] and o is not e for o in errors)
        ]
        problems = sorted(dict.fromkeys(describe(e, Params) for e in errors))
        if isinstance(raw, dict) and not any(
            e["type"] == "value_error" and not e["loc"] for e in errors
        ):
            problems += [p for p in _across_sections(raw) if p not in problems]
        lines = "\n  - ".join(problems)
        raise ParamsError(
            f"{source} has {len(problems)} problem(s):\n  - {lines}\n"
            f"Fix these keys in {source} and run `dvc repro` again, or go back to the committed "
            f"file: `git checkout HEAD -- {Path(source).name}`",
            problems,
        ) from None


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml (the single source of every number the stages use)."""
    return parse_params(read_yaml(path), str(path))
