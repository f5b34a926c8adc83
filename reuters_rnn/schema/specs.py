"""What a model or a baseline entry of params.yaml may say: one spec class per family, and the
registries (kind -> spec) that the builders (reuters_rnn.fit.models, reuters_rnn.fit.baselines)
mirror.

Also the shared pieces of the schema: the strict section base, numbers without NaN or infinity,
the names DVC accepts as stage keys, and the generous bounds that catch a typo.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    Tag,
    field_validator,
)

# The recurrent cells: params name -> keras.layers class name. models.py builds from this table,
# and the schema allows exactly its keys: adding a cell kind is one entry here.
CELLS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
# DVC joins matrix/foreach keys into stage names (train@lstm), so names keep to this.
NAME = r"^[a-z][a-z0-9_]*$"


# A YAML 1 counts as 1.0; '1', true, .nan and .inf do not.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]

# Bounds a user would find generous: far past any setting that makes sense for 1,395 newswires
# of 49 words on one machine, near enough to catch a typo (an extra zero or three) before it
# starts a two-year training.
MAX_EPOCHS = 10_000  # the published run used 200
MAX_BATCH_SIZE = 100_000  # more than the whole training split: one batch per epoch
MAX_UNITS = 4096  # per recurrent layer, and embedding dimensions; the published use 50
MAX_LAYERS = 16
MAX_LEARNING_RATE = 1.0  # Adam's step size: 0.001 published; near 1 it diverges
MAX_SEEDS = 100
MAX_CONV_WIDTH = 32  # words a convolution filter spans


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(Section):
    """What every model family shares: optional per-model epochs and learning rate, and label
    smoothing (0: the published one-hot targets)."""

    epochs: Annotated[StrictInt, Field(ge=1, le=MAX_EPOCHS)] | None = None
    learning_rate: Annotated[Number, Field(gt=0, le=MAX_LEARNING_RATE)] | None = None
    label_smoothing: Annotated[Number, Field(ge=0, lt=1)] = 0.0

    def trained_epochs(self, train: Any) -> int:
        """The epochs this model trains: its own, or train.epochs."""
        return self.epochs or train.epochs

    def trained_learning_rate(self, train: Any) -> float:
        """The learning rate it trains with: its own, or train.learning_rate."""
        return self.learning_rate or train.learning_rate


class RecurrentSpec(ModelSpec):
    """The published family: recurrent layers over the word ids, then Dense softmax."""

    kind: Literal["recurrent"] = "recurrent"
    cell: Literal[tuple(CELLS)]  # type: ignore[valid-type]
    units: Annotated[
        tuple[Annotated[StrictInt, Field(ge=1, le=MAX_UNITS)], ...],
        Field(min_length=1, max_length=MAX_LAYERS),
    ]
    embedding_dim: Annotated[StrictInt, Field(ge=1, le=MAX_UNITS)] | None = None
    bidirectional: StrictBool = False

    @field_validator("units", mode="before")
    @classmethod
    def _one_layer(cls, units: Any) -> Any:
        """`-S models.lstm.units=60` means one layer of 60."""
        return [units] if isinstance(units, int) and not isinstance(units, bool) else units


# How pooled_embedding summarizes the word embeddings of a newswire (padding ignored).
POOLINGS = ("mean", "max")


class PooledEmbeddingSpec(ModelSpec):
    """fastText/SWEM-style: learned word (and hashed word-pair) embeddings, pooled over the words
    by mean, max, or both side by side; optionally a hidden relu layer, and dropout of words,
    embedding dimensions or the final features."""

    kind: Literal["pooled_embedding"]
    embedding_dim: Annotated[StrictInt, Field(ge=1, le=MAX_UNITS)]
    pooling: Annotated[tuple[Literal[POOLINGS], ...], Field(min_length=1)] = ("mean",)  # type: ignore[valid-type]
    bigram_buckets: Annotated[StrictInt, Field(ge=0, le=10_000_000)] = 0
    # Keras's names for how the embeddings start.
    embeddings_initializer: Literal["uniform", "random_normal", "zeros"] = "uniform"
    word_dropout: Annotated[Number, Field(ge=0, lt=1)] = 0.0  # drops whole words in training
    feature_dropout: Annotated[Number, Field(ge=0, lt=1)] = 0.0  # whole embedding dimensions
    hidden: Annotated[StrictInt, Field(ge=0, le=MAX_UNITS)] = 0  # a relu layer after pooling
    dropout: Annotated[Number, Field(ge=0, lt=1)] = 0.0  # on what the softmax reads
    # A 1-D convolution over the embeddings before pooling (0: none): filters of `conv_width`
    # adjacent words, relu, padding still ignored.
    conv_filters: Annotated[StrictInt, Field(ge=0, le=MAX_UNITS)] = 0
    conv_width: Annotated[StrictInt, Field(ge=1, le=MAX_CONV_WIDTH)] = 3

    @field_validator("pooling", mode="before")
    @classmethod
    def _one_pooling(cls, pooling: Any) -> Any:
        """`-S models.swem.pooling=max` means that one."""
        return [pooling] if isinstance(pooling, str) else pooling

    @field_validator("pooling")
    @classmethod
    def _distinct(cls, pooling: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(pooling)) != len(pooling):
            raise ValueError("pooling lists each of mean, max at most once")
        return pooling


def _by_kind(kinds: dict[str, type], default: str | None = None) -> Discriminator:
    """A discriminator on `kind` whose error names the allowed kinds."""

    def kind_of(value: Any) -> str:
        found = value.get("kind", default) if isinstance(value, dict) else value.kind
        return found if found in kinds else "unknown"

    return Discriminator(
        kind_of,
        custom_error_type="unknown_kind",
        custom_error_message=f"kind must be one of {' | '.join(kinds)}",
    )


# Model families: kind -> spec. models.py holds one builder per kind; the kinds are these.
MODEL_KINDS: dict[str, type[ModelSpec]] = {
    "recurrent": RecurrentSpec,
    "pooled_embedding": PooledEmbeddingSpec,
}
AnyModelSpec = Annotated[
    Annotated[RecurrentSpec, Tag("recurrent")]
    | Annotated[PooledEmbeddingSpec, Tag("pooled_embedding")],
    _by_kind(MODEL_KINDS, default="recurrent"),
]


class MajoritySpec(Section):
    kind: Literal["majority"]
    probabilities: ClassVar[bool] = True  # all on the most frequent topic


class TfidfSpec(Section):
    """The TF-IDF features the linear baselines share: word n-grams of the word ids."""

    probabilities: ClassVar[bool] = True  # whether its scores are probabilities

    kind: str
    ngram_max: Annotated[StrictInt, Field(ge=1, le=5)] = 1  # 2: single words and adjacent pairs
    sublinear_tf: StrictBool = True  # 1 + log(count) instead of the count
    min_df: Annotated[StrictInt, Field(ge=1, le=1000)] = 1  # n-grams in fewer newswires are dropped
    max_features: Annotated[StrictInt, Field(ge=1, le=10_000_000)] | None = None  # most frequent


class TfidfLogregSpec(TfidfSpec):
    """TF-IDF over word n-grams, then multinomial logistic regression (scikit-learn)."""

    kind: Literal["tfidf_logreg"]
    C: Annotated[Number, Field(gt=0)] = 1.0  # inverse regularization strength
    max_iter: Annotated[StrictInt, Field(ge=1, le=1_000_000)] = 1000


class TfidfSvmSpec(TfidfSpec):
    """TF-IDF over word n-grams, then a linear support vector machine, one topic against the rest
    (scikit-learn's LinearSVC: squared hinge loss, L2 penalty). Its scores are margins, not
    probabilities: accuracy and F1 are defined, log loss is not (reported empty)."""

    kind: Literal["tfidf_svm"]
    probabilities: ClassVar[bool] = False  # softmax of margins: no log loss, no ensembles
    C: Annotated[Number, Field(gt=0)] = 1.0  # inverse regularization strength
    class_weight: Literal["none", "balanced"] = "none"  # balanced: rare topics weigh more
    max_iter: Annotated[StrictInt, Field(ge=1, le=1_000_000)] = 1000


BASELINE_KINDS: dict[str, type[Section]] = {
    "majority": MajoritySpec,
    "tfidf_logreg": TfidfLogregSpec,
    "tfidf_svm": TfidfSvmSpec,
}
AnyBaselineSpec = Annotated[
    Annotated[MajoritySpec, Tag("majority")]
    | Annotated[TfidfLogregSpec, Tag("tfidf_logreg")]
    | Annotated[TfidfSvmSpec, Tag("tfidf_svm")],
    _by_kind(BASELINE_KINDS),
]
