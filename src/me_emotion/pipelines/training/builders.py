"""One builder per model: a function of its parameter block (``training.models.<name>``).

Two signatures, one per family (see ``registry.py``):

- Keras: ``build(options, input_shapes, n_classes) -> keras.Model`` (uncompiled),
  ``input_shapes`` the per-sample shape of each array the model reads
  (``{"image": (48, 48, 1), "embedding": (512,)}``); its optimizer comes from
  ``sgd`` or ``adam`` below;
- scikit-learn: ``build(options, class_weight, seed) -> estimator`` (unfitted).

A model may also augment its training samples (``augment(options, x, y)``):
the flow baseline and the onset-relative HybridMicroNet add mirrored samples.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from me_emotion.core import model_interface as names

from .au_enhanced import AuEnhancedClassifier, AuPredictedClassifier
from .inputs import ACTION_UNITS

Shapes = dict[str, tuple[int, ...]]


# ---- Keras ------------------------------------------------------------------------------
def _architectures() -> ModuleType:
    """``core.architectures``, imported when a model is built: it loads Keras, which
    the pipeline registry (every ``kedro run``'s start-up) does not need."""
    from me_emotion.core import architectures  # noqa: PLC0415

    return architectures


def hybrid_micronet(options: dict[str, Any], shapes: Shapes, n_classes: int) -> Any:
    return _architectures().build_hybrid_micronet(
        shapes[names.IMAGE_INPUT][0],
        n_classes,
        embedding_size=shapes[names.EMBEDDING_INPUT][0],
        filters=options["filters"],
        embedding_units=int(options["embedding_units"]),
        fusion_units=int(options["fusion_units"]),
        dropout=float(options["dropout"]),
    )


def onset_hybrid(options: dict[str, Any], shapes: Shapes, n_classes: int) -> Any:
    """The default HybridMicroNet: its ``branches`` of the onset-relative inputs."""
    return _architectures().build_onset_hybrid(
        {name: shapes[name] for name in options["branches"]},
        n_classes,
        filters=options["filters"],
        embedding_units=int(options["embedding_units"]),
        branch_filters=options["branch_filters"],
        appearance_dropout=float(options["appearance_dropout"]),
        fusion_weights={k: float(v) for k, v in options["fusion_weights"].items()},
    )


def cnn(options: dict[str, Any], shapes: Shapes, n_classes: int) -> Any:
    return _architectures().build_cnn(
        shapes[names.IMAGE_INPUT][0],
        n_classes,
        filters=options["filters"],
        dropout=float(options["dropout"]),
    )


def ann(options: dict[str, Any], shapes: Shapes, n_classes: int) -> Any:
    return _architectures().build_ann(
        shapes[names.EMBEDDING_INPUT][0],
        n_classes,
        hidden_units=options["hidden_units"],
        dropout=float(options["dropout"]),
    )


def flow_cnn(options: dict[str, Any], shapes: Shapes, n_classes: int) -> Any:
    grid, _, channels = shapes[names.FLOW_INPUT]
    return _architectures().build_flow_cnn(
        grid, channels, n_classes, branch_filters=options["branch_filters"]
    )


def sgd(options: dict[str, Any]) -> Any:
    """SGD with momentum (the method's optimizer)."""
    import keras  # noqa: PLC0415

    return keras.optimizers.SGD(
        float(options["learning_rate"]), momentum=float(options["momentum"])
    )


def adam(options: dict[str, Any]) -> Any:
    import keras  # noqa: PLC0415

    return keras.optimizers.Adam(float(options["learning_rate"]))


# ---- scikit-learn -----------------------------------------------------------------------
def decision_tree(
    options: dict[str, Any], class_weight: str | None, seed: int
) -> BaseEstimator:
    return DecisionTreeClassifier(
        max_depth=options["max_depth"],
        min_samples_leaf=int(options["min_samples_leaf"]),
        class_weight=class_weight,
        random_state=seed,
    )


def svm(options: dict[str, Any], class_weight: str | None, seed: int) -> BaseEstimator:
    return make_pipeline(
        StandardScaler(),
        SVC(
            C=float(options["C"]),
            kernel=options["kernel"],
            gamma=options["gamma"],
            class_weight=class_weight,
            random_state=seed,
        ),
    )


def _au_model_arguments(
    options: dict[str, Any], class_weight: str | None, seed: int
) -> dict[str, Any]:
    """What both AU-enhanced variants take from their block."""
    return {
        "n_action_units": len(ACTION_UNITS),
        "n_clusters": int(options["n_clusters"]),
        "n_components": int(options["n_components"]),
        "C": float(options["C"]),
        "class_weight": class_weight,
        "random_state": seed,
    }


def au_enhanced(
    options: dict[str, Any], class_weight: str | None, seed: int
) -> BaseEstimator:
    return AuEnhancedClassifier(**_au_model_arguments(options, class_weight, seed))


def au_predicted(
    options: dict[str, Any], class_weight: str | None, seed: int
) -> BaseEstimator:
    return AuPredictedClassifier(
        **_au_model_arguments(options, class_weight, seed),
        au_C=float(options["au_C"]),
        au_cv_folds=int(options["au_cv_folds"]),
    )


# ---- training-sample augmentation ------------------------------------------------------
def flip_flow(flow: np.ndarray, channels: list[str]) -> np.ndarray:
    """Mirror flow maps left-right: columns reversed, horizontal flow ``u`` negated."""
    flipped = flow[:, :, ::-1, :].copy()
    if "u" in channels:
        flipped[..., channels.index("u")] *= -1
    return flipped


def flow_flips(
    options: dict[str, Any], x_train: dict[str, np.ndarray], y_train: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The training flow maps plus their mirror images (``flip_augment``)."""
    if not options["flip_augment"]:
        return x_train, y_train
    channels = list(options["channels"])
    flipped = {k: flip_flow(v, channels) for k, v in x_train.items()}
    return (
        {k: np.concatenate([v, flipped[k]]) for k, v in x_train.items()},
        np.concatenate([y_train, y_train]),
    )


def onset_flips(
    options: dict[str, Any], x_train: dict[str, np.ndarray], y_train: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The training clips plus their mirror images (``flip_augment``).

    Flow maps as :func:`flow_flips`, difference images reversed left-right;
    the embedding difference cannot be mirrored without re-embedding, so the
    mirrored sample repeats it (same label: expressions are symmetric classes).
    """
    if not options["flip_augment"]:
        return x_train, y_train
    channels = list(options["channels"])
    flipped = {}
    for name, value in x_train.items():
        if name == names.FLOW_INPUT:
            flipped[name] = flip_flow(value, channels)
        elif name == names.IMAGE_DELTA_INPUT:
            flipped[name] = value[:, :, ::-1].copy()
        else:
            flipped[name] = value
    return (
        {k: np.concatenate([v, flipped[k]]) for k, v in x_train.items()},
        np.concatenate([y_train, y_train]),
    )
