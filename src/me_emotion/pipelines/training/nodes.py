"""Nodes of the training stage: inputs -> folds -> one node per model -> metrics.

Every node is a pure function of catalog datasets and ``params:<namespace>.training``
(see conf/base/parameters_training.yml). The parameter block's ``profile``
(null or ``paper``) deep-merges ``profiles.<profile>`` over it first.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from me_emotion.core.clip_frames import ClipFrames
from me_emotion.parameters import check_parameter_keys

from .inputs import (
    ModelInputs,
    assemble_inputs,
    check_every_class_has_clips,
    join_inputs,
)
from .metrics import METRIC_COLUMNS, classification_metrics, confusion_counts
from .models import MODELS, evaluate_keras, evaluate_sklearn
from .protocols import build_folds, classes_missing_from_training

logger = logging.getLogger(__name__)

PARAMETER_FILE = "conf/base/parameters_training.yml"
TRAINING_KEYS = {
    "classes",
    "class_map",
    "protocols",
    "paper_random_split",
    "seed",
    "steps_per_execution",
    "precision",
    "image",
    "class_weight",
    "early_stopping",
    "models",
    "profile",
    "profiles",
    "progress_every_s",
}
GROUP_COLUMNS = ["data_source", "embedding_weights", "protocol", "model", "level"]


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_training_params(params: dict[str, Any]) -> dict[str, Any]:
    """The training block with its ``profile`` applied, keys and models checked."""
    check_parameter_keys(params, TRAINING_KEYS, "<namespace>.training", PARAMETER_FILE)
    profile = params["profile"]
    if profile is not None:
        if profile not in params["profiles"]:
            raise ValueError(
                f"training.profile={profile!r} is not one of {sorted(params['profiles'])} "
                f"(or null), see {PARAMETER_FILE}"
            )
        params = _deep_merge(params, params["profiles"][profile])
    missing = sorted(set(MODELS) - set(params["models"]))
    if missing:
        raise ValueError(f"training.models lacks {missing} (see {PARAMETER_FILE})")
    return params


def assemble_model_inputs(  # noqa: PLR0917 - a Kedro node: inputs come positionally
    clip_index: pd.DataFrame,
    vgg_embeddings: pd.DataFrame,
    flow_features: dict[str, np.ndarray],
    face_crops: dict[str, Callable[[], ClipFrames]],
    feature_params: dict[str, Any],
    params: dict[str, Any],
) -> dict[str, np.ndarray]:
    """Every model's inputs for one dataset as plain arrays.

    Args:
        clip_index: one row per clip (subject, clip, emotion, au_codes, source).
        vgg_embeddings: one row per clip x frame x ``aug_id``.
        flow_features: per-clip onset->apex flow maps.
        face_crops: ``{subject/clip: loader}`` of the 256x256 crops, read one
            clip at a time to rebuild the image branch's images.
        feature_params: ``params:<namespace>.feature_extraction`` (augmentation,
            image), so ``aug_id`` k is the embeddings' variant k.
        params: ``params:<namespace>.training``.

    Returns:
        The arrays of a :class:`ModelInputs`.
    """
    settings = resolve_training_params(params)
    inputs = assemble_inputs(
        clip_index, vgg_embeddings, flow_features, face_crops, feature_params, settings
    )
    return inputs.to_arrays()


def join_datasets(*parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The composite's inputs: several datasets' model inputs, subjects dataset-prefixed."""
    loaded = [ModelInputs.from_arrays(part) for part in parts]
    named = {}
    for part in loaded:
        names = sorted(set(part.clip_dataset.tolist())) or [f"part{len(named)}"]
        named["+".join(names)] = part
    return join_inputs(named).to_arrays()


def make_folds(
    model_inputs: dict[str, np.ndarray], params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Folds of the selected protocols plus the ``final`` all-subjects fold.

    A fold whose training side lacks a class is logged as a warning naming the
    fold and the class, and listed in the second table (the report shows it).

    Returns:
        The folds: one row per (protocol, fold, level, sample), ``role`` train,
        validation or test (see ``protocols.py``); and the folds trained
        without a class (``protocols.GAP_COLUMNS``).

    Raises:
        ValueError: a class without clips, an unknown protocol, fewer than two
            subjects for ``loso``.
    """
    settings = resolve_training_params(params)
    inputs = ModelInputs.from_arrays(model_inputs)
    check_every_class_has_clips(inputs)
    folds = build_folds(inputs, settings)
    logger.info(
        "%s: %d clips of %d subjects; folds %s",
        "+".join(sorted(set(inputs.clip_dataset.tolist()))),
        len(inputs.clip_y),
        len(set(inputs.clip_subject.tolist())),
        folds.groupby("protocol")["fold"].nunique().to_dict(),
    )
    gaps = classes_missing_from_training(folds, inputs)
    for gap in gaps[gaps["level"] == "clip"].itertuples(index=False):
        logger.warning(
            "%s fold %s trains without class(es) %s (%d test clip(s) of them): "
            "it cannot predict them, so their recall there is 0; more subjects "
            "with these classes fix it",
            gap.protocol,
            gap.fold,
            gap.missing_classes,
            gap.test_clips_of_them,
        )
    return folds, gaps


def _evaluate(name: str, model_inputs, folds, params):
    settings = resolve_training_params(params)
    inputs = ModelInputs.from_arrays(model_inputs)
    if name in ("decision_tree", "svm", "au_enhanced"):
        return evaluate_sklearn(name, inputs, folds, settings)
    return evaluate_keras(name, inputs, folds, settings)


def train_hybrid_micronet(
    model_inputs: dict[str, np.ndarray], folds: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, Any]:
    """HybridMicroNet on every fold: frame predictions and the all-subjects Keras model."""
    return _evaluate("hybrid_micronet", model_inputs, folds, params)


def train_cnn(
    model_inputs: dict[str, np.ndarray], folds: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, Any]:
    """The CNN baseline (face images only) on every fold."""
    return _evaluate("cnn", model_inputs, folds, params)


def train_ann(
    model_inputs: dict[str, np.ndarray], folds: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, Any]:
    """The ANN baseline (MLP on the VGG-16 embedding) on every fold."""
    return _evaluate("ann", model_inputs, folds, params)


def train_flow_cnn(
    model_inputs: dict[str, np.ndarray], folds: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, Any]:
    """The STSTNet-like flow baseline (one onset->apex flow per clip) on every fold."""
    return _evaluate("flow_cnn", model_inputs, folds, params)


def train_decision_tree(
    model_inputs: dict[str, np.ndarray], folds: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, Any]:
    """The decision-tree baseline (VGG-16 embedding) on every fold."""
    return _evaluate("decision_tree", model_inputs, folds, params)


def train_svm(
    model_inputs: dict[str, np.ndarray], folds: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, Any]:
    """The SVM baseline (standardised VGG-16 embedding, RBF kernel) on every fold."""
    return _evaluate("svm", model_inputs, folds, params)


def train_au_enhanced(
    model_inputs: dict[str, np.ndarray], folds: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, Any]:
    """The AU-enhanced model (annotated AUs + K-means + embedding) on every fold."""
    return _evaluate("au_enhanced", model_inputs, folds, params)


def pool_predictions(*predictions: pd.DataFrame) -> pd.DataFrame:
    """Every model's predictions, with clip rows derived from frame rows.

    A clip's probabilities are the mean of its test frames' probabilities in
    that fold; its prediction is their argmax. Rows have ``level`` ``frame`` or
    ``clip`` (clip rows: ``frame`` and ``aug_id`` are -1). Clip-level models
    (the flow baseline) come with clip rows only and pass through.
    """
    table = pd.concat(
        [p for p in predictions if len(p)] or list(predictions[:1]), ignore_index=True
    )
    given_clips = table[table["level"] == "clip"]
    frames = table[table["level"] == "frame"]
    probability_columns = [c for c in frames.columns if c.startswith("prob_")]
    classes = np.array([c.removeprefix("prob_") for c in probability_columns])
    keys = [
        "data_source",
        "embedding_weights",
        "dataset",
        "protocol",
        "model",
        "fold",
        "subject",
        "partition",
        "clip",
        "y_true",
    ]
    clips = frames.groupby(keys, sort=False, as_index=False)[probability_columns].mean()
    clips["level"] = "clip"
    clips["frame"] = -1
    clips["aug_id"] = -1
    clips["y_pred"] = (
        classes[np.argmax(clips[probability_columns].to_numpy(), axis=1)]
        if len(clips)
        else []
    )
    return pd.concat([frames, given_clips, clips[table.columns]], ignore_index=True)


def compute_metrics(predictions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pooled metrics and confusion-matrix counts per protocol x model x level.

    Returns:
        ``metrics``: one row per (protocol, model, level) with ``data_source``
        (synthetic / real), ``n_samples``, ``n_folds``, accuracy, UF1, UAR,
        macro precision, weighted F1 and the chance levels;
        ``confusion_matrices``: the same keys x (y_true, y_pred) with counts.
    """
    classes = [
        c.removeprefix("prob_") for c in predictions.columns if c.startswith("prob_")
    ]
    metric_rows, confusion_tables = [], []
    for key, group in predictions.groupby(GROUP_COLUMNS, sort=False):
        meta = dict(zip(GROUP_COLUMNS, key))
        metric_rows.append(
            {
                **meta,
                "n_samples": len(group),
                "n_folds": group["fold"].nunique(),
                "n_classes": len(classes),
                **classification_metrics(group["y_true"], group["y_pred"], classes),
            }
        )
        confusion_tables.append(
            confusion_counts(group["y_true"], group["y_pred"], classes).assign(**meta)
        )
    columns = GROUP_COLUMNS + ["n_samples", "n_folds", "n_classes"] + METRIC_COLUMNS
    metrics = pd.DataFrame(metric_rows, columns=columns)
    confusion = (
        pd.concat(confusion_tables, ignore_index=True)[
            GROUP_COLUMNS + ["y_true", "y_pred", "count"]
        ]
        if confusion_tables
        else pd.DataFrame(columns=GROUP_COLUMNS + ["y_true", "y_pred", "count"])
    )
    return metrics, confusion
