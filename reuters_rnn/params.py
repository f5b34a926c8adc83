"""params.yaml -> frozen, typed objects that every stage reads; the one place for params errors.

The schema is pydantic v2: every problem is reported at once, as dotted key names with the allowed
values, plus a "did you mean" hint for misspelled keys. The model and baseline entries' schema
is in reuters_rnn.specs.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from reuters_rnn.failure import FixableError
from reuters_rnn.specs import (
    BASELINE_KINDS,
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    MAX_LEARNING_RATE,
    MAX_SEEDS,
    MODEL_KINDS,
    NAME,
    AnyBaselineSpec,
    AnyModelSpec,
    Number,
    Section,
)


class ParamsError(FixableError):
    """params.yaml is unusable; the message lists every problem found."""


class DataParams(Section):
    url: Annotated[StrictStr, Field(pattern=r"://")]
    sha256: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]
    num_words: Annotated[StrictInt, Field(ge=4, le=1_000_000)]  # ids 0-2 are reserved
    # Keras's filter: keep newswires shorter than this; None keeps every one.
    maxlen: Annotated[StrictInt, Field(ge=2, le=100_000)] | None
    test_split: Annotated[Number, Field(gt=0, lt=1)]
    seed: Annotated[StrictInt, Field(ge=0)]
    padding: Literal["pre", "post"]
    # The length every newswire is padded or truncated to (None: maxlen - 1, as published),
    # and the side a longer one loses words from.
    pad_to: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = None
    truncating: Literal["pre", "post"] = "post"

    def length(self) -> int:
        """The steps of every prepared sequence."""
        return self.pad_to if self.pad_to is not None else self.maxlen - 1  # type: ignore[operator]


class EarlyStopping(Section):
    """Stop a model's training when the loss on a validation part of the training split has not
    improved for `patience` epochs, keeping the best epoch's weights (the test split decides
    nothing). The model's epochs (or train.epochs) are the cap."""

    validation_fraction: Annotated[Number, Field(gt=0, lt=1)]
    patience: Annotated[StrictInt, Field(ge=1, le=MAX_EPOCHS)]


class TrainParams(Section):
    epochs: Annotated[StrictInt, Field(ge=1, le=MAX_EPOCHS)]
    batch_size: Annotated[StrictInt, Field(ge=1, le=MAX_BATCH_SIZE)]
    learning_rate: Annotated[Number, Field(gt=0, le=MAX_LEARNING_RATE)]
    seeds: Annotated[
        tuple[Annotated[StrictInt, Field(ge=0)], ...], Field(min_length=1, max_length=MAX_SEEDS)
    ]
    backend: Literal["tensorflow", "jax"]
    jit_compile: StrictBool = True
    validation_split: Annotated[Number, Field(ge=0, lt=1)] = 0.0
    resume: StrictBool = True
    checkpoint_every: Annotated[StrictInt, Field(ge=1, le=MAX_EPOCHS)] = 20
    early_stopping: EarlyStopping | None = None  # None: every epoch, as published
    # Batches of similar lengths for the recurrent models: each newswire padded only to the first
    # of these lengths that holds it (longer ones to the full length); empty: every batch at the
    # full length, as published.
    length_buckets: tuple[Annotated[StrictInt, Field(ge=1, le=100_000)], ...] = ()

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds must be distinct")
        return seeds


class ReportParams(Section):
    confidence: Annotated[Number, Field(gt=0, lt=1)] = 0.95
    comparisons: tuple[tuple[str, str], ...] = ()
    published: dict[str, Annotated[Number, Field(ge=0, le=1)]] = {}


class Params(Section):
    data: DataParams
    train: TrainParams
    models: Annotated[
        dict[Annotated[StrictStr, Field(pattern=NAME)], AnyModelSpec], Field(min_length=1)
    ]
    baselines: dict[Annotated[StrictStr, Field(pattern=NAME)], AnyBaselineSpec] = {}
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
        both = sorted(set(self.models) & set(self.baselines))
        if both:
            raise ValueError(
                f"baselines: {', '.join(both)} also name(s) a model; rename one (each name has "
                "its own results: metrics/predictions/<name>.csv)"
            )
        return self

    @model_validator(mode="after")
    def _comparisons_name_models(self) -> Params:
        for pair in self.report.comparisons:
            if not set(pair) <= set(self.models):
                raise ValueError(
                    f"report.comparisons: {list(pair)} must be a pair [model_a, model_b] of names "
                    f"under models ({', '.join(self.models)})"
                )
        return self

    def epochs(self, model: str) -> int:
        return self.models[model].trained_epochs(self.train)

    def learning_rate(self, model: str) -> float:
        return self.models[model].trained_learning_rate(self.train)


def _where(loc: tuple) -> str:
    """pydantic's error location -> the dotted key a user edits (union tags dropped)."""
    if len(loc) > 2 and loc[0] in ("models", "baselines"):
        loc = loc[:2] + loc[3:]  # ("models", "lstm", "recurrent", "cell") -> models.lstm.cell
    return ".".join(str(part) for part in loc)


def _schema_at(loc: tuple) -> type[BaseModel] | None:
    """The section class whose keys are allowed where an unknown key was found."""
    if len(loc) > 3 and loc[0] in ("models", "baselines"):
        return (MODEL_KINDS | BASELINE_KINDS).get(str(loc[2]))
    schema = Params if len(loc) == 1 else Params.model_fields[str(loc[0])].annotation
    return schema if isinstance(schema, type) and issubclass(schema, BaseModel) else None


def _describe(error: dict) -> str:
    where, kind = _where(error["loc"]), error["type"]
    if kind == "unknown_kind":
        return f"{where}: kind {error['input'].get('kind')!r} is not allowed ({error['msg']})"
    if kind == "extra_forbidden":
        schema = _schema_at(error["loc"])
        names = list(schema.model_fields) if schema else []
        close = difflib.get_close_matches(str(error["loc"][-1]), names, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(names)}"
        return f"{where}: unknown key ({hint})"
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


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate a parsed params mapping; raise one ParamsError naming every bad key."""
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = sorted(dict.fromkeys(_describe(e) for e in exc.errors()))
        lines = "\n  - ".join(problems)
        raise ParamsError(
            f"{source} has {len(problems)} problem(s):\n  - {lines}\n"
            f"Fix these keys in {source} and run `dvc repro` again, or go back to the committed "
            f"file: `git checkout HEAD -- {Path(source).name}`"
        ) from None


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml (the single source of every number the stages use)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(
            f"{path} not found: run from the project root, or restore it with "
            f"`git checkout {path.name}`"
        ) from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path} is not valid YAML: {exc}") from None
    return parse_params(raw, str(path))
