"""The models of the training stage: the one place that knows them.

| model | input | family |
|---|---|---|
| ``hybrid_micronet`` | apex-minus-onset face image + VGG-16 embedding, onset->apex flow (per clip) | Keras, the method on identity-normalised inputs, late fusion (default) |
| ``hybrid_micronet_paper`` | face image + VGG-16 embedding (per frame) | Keras, the method as published |
| ``cnn`` | face image (per frame) | Keras, Table 3 baseline |
| ``ann`` | VGG-16 embedding (per frame) | Keras MLP, Table 3 baseline |
| ``flow_cnn`` | onset->apex flow maps (per clip) | Keras, STSTNet-like field baseline |
| ``decision_tree`` | VGG-16 embedding (per frame) | scikit-learn, Table 3 baseline |
| ``svm`` | VGG-16 embedding (per frame) | scikit-learn, Table 3 baseline |
| ``au_enhanced`` | annotated AUs + K-means + embedding (per frame) | scikit-learn, Table 2 |
| ``au_predicted`` | AUs predicted from the embedding + K-means + embedding (per frame) | scikit-learn, Table 2 without human AU coding |

The pipeline makes one ``train_<name>`` node per entry (``pipeline.py``), the
parameter schema checks ``training.models.<name>`` against the entry's
``parameters`` (``me_emotion.parameters``), and ``evaluation.py`` fits the
entry on every fold. Adding a model: an entry here, its builder in
``builders.py``, its block under ``models:`` in conf/base/parameters_training.yml
(see docs/models.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from me_emotion.core.flow import FLOW_CHANNELS
from me_emotion.core.model_interface import (
    EMBEDDING_DELTA_INPUT,
    EMBEDDING_INPUT,
    FLOW_INPUT,
    IMAGE_DELTA_INPUT,
    IMAGE_INPUT,
    ONSET_BRANCHES,
)
from me_emotion.parameters import NUMBER, OPTIONAL_INT, Choice, ListOf

from . import builders

ACTION_UNITS_INPUT = "action_units"  # the clip's annotated AUs, per frame sample
INPUTS = (
    IMAGE_INPUT,
    EMBEDDING_INPUT,
    FLOW_INPUT,
    ACTION_UNITS_INPUT,
    IMAGE_DELTA_INPUT,
    EMBEDDING_DELTA_INPUT,
)
FAMILIES = ("keras", "sklearn")
LEVELS = ("frame", "clip")

_KERAS_TRAINING = {"learning_rate": NUMBER, "epochs": int, "batch_size": int}
_SGD = {**_KERAS_TRAINING, "momentum": NUMBER}


@dataclass(frozen=True)
class ModelSpec:
    """What the stage needs to know about a model.

    Attributes:
        family: ``keras`` (compiled once, reset per fold; saved as ``.keras``)
            or ``sklearn`` (cloned per fold; saved by ``SafeEstimatorDataset``).
        level: ``frame`` (one sample per frame x ``aug_id``) or ``clip``.
        inputs: the ``ModelInputs`` arrays it reads, by name (``INPUTS``): a
            Keras model's named inputs; a scikit-learn model's ``X`` is their
            columns side by side, in this order. A model whose block has
            ``branches`` reads only those of them.
        build: the builder (``builders.py``), a function of the model's block.
        parameters: the schema of ``training.models.<name>``
            (``me_emotion.parameters`` specs), checked once at startup.
        augment: ``(options, x_train, y_train) -> (x_train, y_train)`` applied
            to each fold's training samples only, or None.
        optimizer: Keras only: ``options -> optimizer``.
        standardisers: Keras only: ``{layer: input}`` standardisers refitted on
            each training fold (``fitting.fit_standardisers``).
    """

    family: str
    level: str
    inputs: tuple[str, ...]
    build: Callable[..., Any]
    parameters: dict[str, Any]
    augment: Callable[..., Any] | None = None
    optimizer: Callable[[dict[str, Any]], Any] | None = None
    standardisers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.inputs) - set(INPUTS))
        if self.family not in FAMILIES or self.level not in LEVELS or unknown:
            raise ValueError(
                f"model spec: family {self.family!r} (one of {FAMILIES}), level "
                f"{self.level!r} (one of {LEVELS}), inputs {list(self.inputs)} "
                f"(from {INPUTS})"
            )
        per_frame = sorted({IMAGE_INPUT, EMBEDDING_INPUT} & set(self.inputs))
        if self.level == "clip" and per_frame:
            raise ValueError(
                f"a clip-level model cannot read the per-frame {per_frame}"
            )
        if (self.family == "keras") != (self.optimizer is not None):
            raise ValueError("a Keras model needs an optimizer, other models none")


MODELS: dict[str, ModelSpec] = {
    # the default: the method's branches on inputs relative to the clip's own
    # onset frame, plus the flow branch; variants by `branches` (docs/models.md)
    "hybrid_micronet": ModelSpec(
        "keras",
        "clip",
        ONSET_BRANCHES,
        builders.onset_hybrid,
        {
            "branches": ListOf(Choice(*ONSET_BRANCHES)),
            "filters": ListOf(int),
            "embedding_units": int,
            "appearance_dropout": NUMBER,
            "fusion_weights": {name: NUMBER for name in ONSET_BRANCHES},
            "fusion_choice": {
                "on_validation": bool,
                "validation_share": NUMBER,
                "levels": ListOf(NUMBER),
            },
            "channels": ListOf(Choice(*FLOW_CHANNELS)),
            "branch_filters": ListOf(int),
            "flip_augment": bool,
            **_KERAS_TRAINING,
        },
        augment=builders.onset_flips,
        optimizer=builders.adam,
        standardisers={f"{name}_scale": name for name in ONSET_BRANCHES},
    ),
    # the method as published: one sample per frame, identity and expression mixed
    "hybrid_micronet_paper": ModelSpec(
        "keras",
        "frame",
        (IMAGE_INPUT, EMBEDDING_INPUT),
        builders.hybrid_micronet,
        {
            "filters": ListOf(int),
            "embedding_units": int,
            "fusion_units": int,
            "dropout": NUMBER,
            **_SGD,
        },
        optimizer=builders.sgd,
        standardisers={"embedding_scale": EMBEDDING_INPUT},
    ),
    "cnn": ModelSpec(
        "keras",
        "frame",
        (IMAGE_INPUT,),
        builders.cnn,
        {"filters": ListOf(int), "dropout": NUMBER, **_SGD},
        optimizer=builders.sgd,
    ),
    "ann": ModelSpec(
        "keras",
        "frame",
        (EMBEDDING_INPUT,),
        builders.ann,
        {"hidden_units": ListOf(int), "dropout": NUMBER, **_SGD},
        optimizer=builders.sgd,
        standardisers={"embedding_scale": EMBEDDING_INPUT},
    ),
    "flow_cnn": ModelSpec(
        "keras",
        "clip",
        (FLOW_INPUT,),
        builders.flow_cnn,
        {
            "channels": ListOf(Choice(*FLOW_CHANNELS)),
            "branch_filters": ListOf(int),
            "flip_augment": bool,
            **_KERAS_TRAINING,
        },
        augment=builders.flow_flips,
        optimizer=builders.adam,
        standardisers={"flow_scale": FLOW_INPUT},
    ),
    "decision_tree": ModelSpec(
        "sklearn",
        "frame",
        (EMBEDDING_INPUT,),
        builders.decision_tree,
        {"max_depth": OPTIONAL_INT, "min_samples_leaf": int},
    ),
    "svm": ModelSpec(
        "sklearn",
        "frame",
        (EMBEDDING_INPUT,),
        builders.svm,
        {"C": NUMBER, "kernel": str, "gamma": (str, int, float)},
    ),
    "au_enhanced": ModelSpec(
        "sklearn",
        "frame",
        (ACTION_UNITS_INPUT, EMBEDDING_INPUT),
        builders.au_enhanced,
        {"n_clusters": int, "n_components": int, "C": NUMBER},
    ),
    # reads the annotated AUs as training targets only; predict ignores them
    "au_predicted": ModelSpec(
        "sklearn",
        "frame",
        (ACTION_UNITS_INPUT, EMBEDDING_INPUT),
        builders.au_predicted,
        {
            "n_clusters": int,
            "n_components": int,
            "C": NUMBER,
            "au_C": NUMBER,
            "au_cv_folds": int,
        },
    ),
}


def model_dataset(model: str) -> str:
    """Catalog name of a model's all-subjects model (Keras ``.keras`` or scikit-learn)."""
    return f"{MODELS[model].family}_model_{model}"
