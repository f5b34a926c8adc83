"""The sections of params.yaml beside the models: data (what prepare makes of the raw file),
train (how every model trains), ensembles (averages of trained models) and report (how runs are
compared). reuters_rnn.schema.params assembles them with the model and baseline entries
(reuters_rnn.schema.specs) into Params.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr, field_validator

from reuters_rnn.schema.specs import (
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    MAX_LEARNING_RATE,
    MAX_SEEDS,
    NAME,
    Number,
    Section,
)


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
    # NumPy and Keras take seeds below 2**32.
    seeds: Annotated[
        tuple[Annotated[StrictInt, Field(ge=0, le=2**32 - 1)], ...],
        Field(min_length=1, max_length=MAX_SEEDS),
    ]
    backend: Literal["tensorflow", "jax"]
    jit_compile: StrictBool = True
    # At most half of the training split is held out: more leaves too little to train on.
    validation_split: Annotated[Number, Field(ge=0, le=0.5)] = 0.0
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


class EnsembleSpec(Section):
    """The average of its members' predicted probabilities, scored and compared like a model.
    Members are models and baselines with probabilities. `seeds: each` makes one ensemble per
    seed (each model member's training of that seed, with every baseline member): what a team
    would ship. `seeds: pooled` averages every seed of every member into one ensemble."""

    members: Annotated[
        tuple[Annotated[StrictStr, Field(pattern=NAME)], ...], Field(min_length=1, max_length=20)
    ]
    seeds: Literal["each", "pooled"] = "each"

    @field_validator("members")
    @classmethod
    def _distinct(cls, members: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(members)) != len(members):
            raise ValueError("members must be distinct")
        return members


class ReportParams(Section):
    confidence: Annotated[Number, Field(gt=0, lt=1)] = 0.95
    comparisons: tuple[tuple[str, str], ...] = ()
    published: dict[str, Annotated[Number, Field(ge=0, le=1)]] = {}
