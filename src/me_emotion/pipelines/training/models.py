"""The models of the training stage and the loop that evaluates one over every fold.

| model | input | kind |
|---|---|---|
| ``hybrid_micronet`` | face image + VGG-16 embedding (per frame) | Keras, the method |
| ``cnn`` | face image (per frame) | Keras, Table 3 baseline |
| ``ann`` | VGG-16 embedding (per frame) | Keras MLP, Table 3 baseline |
| ``decision_tree`` | VGG-16 embedding (per frame) | scikit-learn, Table 3 baseline |
| ``svm`` | VGG-16 embedding (per frame) | scikit-learn, Table 3 baseline |
| ``au_enhanced`` | annotated AUs + K-means + embedding (per frame) | scikit-learn, Table 2 |
| ``flow_cnn`` | onset->apex flow maps (per clip) | Keras, STSTNet-like field baseline |

Every model is fitted once per fold of each protocol, then once on every
subject (``final``), which is the model kept for inference.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from me_emotion.core import architectures
from me_emotion.core.flow import FLOW_CHANNELS
from me_emotion.core.vgg16 import resolve_precision

from .au_enhanced import AuEnhancedClassifier
from .fitting import KerasTrainer, balanced_sample_weights, class_scores, fit_estimator
from .inputs import ACTION_UNITS, ModelInputs
from .protocols import FINAL, Fold, iter_folds

logger = logging.getLogger(__name__)

KERAS_MODELS = ("hybrid_micronet", "cnn", "ann", "flow_cnn")
SKLEARN_MODELS = ("decision_tree", "svm", "au_enhanced")
MODELS = KERAS_MODELS + SKLEARN_MODELS


@dataclass(frozen=True)
class KerasSpec:
    """How to build a Keras model and which arrays it reads."""

    level: str  # frame | clip
    inputs: tuple[str, ...]
    standardisers: dict[str, str]
    build: Callable[[ModelInputs, dict[str, Any], dict[str, Any]], Any]
    optimizer: str  # sgd | adam


def _build_hybrid(inputs: ModelInputs, p: dict[str, Any], _: dict[str, Any]) -> Any:
    return architectures.build_hybrid_micronet(
        inputs.images.shape[1],
        inputs.n_classes,
        embedding_size=inputs.embeddings.shape[1],
        filters=p["filters"],
        embedding_units=int(p["embedding_units"]),
        fusion_units=int(p["fusion_units"]),
        dropout=float(p["dropout"]),
    )


def _build_cnn(inputs: ModelInputs, p: dict[str, Any], _: dict[str, Any]) -> Any:
    return architectures.build_cnn(
        inputs.images.shape[1],
        inputs.n_classes,
        filters=p["filters"],
        dropout=float(p["dropout"]),
    )


def _build_ann(inputs: ModelInputs, p: dict[str, Any], _: dict[str, Any]) -> Any:
    return architectures.build_ann(
        inputs.embeddings.shape[1],
        inputs.n_classes,
        hidden_units=p["hidden_units"],
        dropout=float(p["dropout"]),
    )


def _build_flow(inputs: ModelInputs, p: dict[str, Any], _: dict[str, Any]) -> Any:
    return architectures.build_flow_cnn(
        inputs.flow.shape[1],
        len(p["channels"]),
        inputs.n_classes,
        branch_filters=p["branch_filters"],
    )


KERAS_SPECS = {
    "hybrid_micronet": KerasSpec(
        "frame",
        (architectures.IMAGE_INPUT, architectures.EMBEDDING_INPUT),
        {"embedding_scale": architectures.EMBEDDING_INPUT},
        _build_hybrid,
        "sgd",
    ),
    "cnn": KerasSpec("frame", (architectures.IMAGE_INPUT,), {}, _build_cnn, "sgd"),
    "ann": KerasSpec(
        "frame",
        (architectures.EMBEDDING_INPUT,),
        {"embedding_scale": architectures.EMBEDDING_INPUT},
        _build_ann,
        "sgd",
    ),
    "flow_cnn": KerasSpec(
        "clip",
        (architectures.FLOW_INPUT,),
        {"flow_scale": architectures.FLOW_INPUT},
        _build_flow,
        "adam",
    ),
}


def keras_arrays(
    inputs: ModelInputs, names: tuple[str, ...], index: np.ndarray, p: dict[str, Any]
) -> dict[str, np.ndarray]:
    """The named Keras inputs of the samples ``index`` (frame or clip rows)."""
    arrays = {}
    if architectures.IMAGE_INPUT in names:
        arrays[architectures.IMAGE_INPUT] = inputs.images[index][..., None].astype(
            np.float32
        )
    if architectures.EMBEDDING_INPUT in names:
        arrays[architectures.EMBEDDING_INPUT] = inputs.embeddings[index]
    if architectures.FLOW_INPUT in names:
        channels = [FLOW_CHANNELS.index(c) for c in p["channels"]]
        arrays[architectures.FLOW_INPUT] = inputs.flow[index][..., channels]
    return arrays


def flip_flow(flow: np.ndarray, channels: list[str]) -> np.ndarray:
    """Mirror flow maps left-right: columns reversed, horizontal flow ``u`` negated."""
    flipped = flow[:, :, ::-1, :].copy()
    if "u" in channels:
        flipped[..., channels.index("u")] *= -1
    return flipped


def sklearn_template(
    name: str, p: dict[str, Any], class_weight: str | None, seed: int
) -> BaseEstimator:
    """The unfitted scikit-learn estimator of a model."""
    if name == "decision_tree":
        return DecisionTreeClassifier(
            max_depth=p["max_depth"],
            min_samples_leaf=int(p["min_samples_leaf"]),
            class_weight=class_weight,
            random_state=seed,
        )
    if name == "svm":
        return make_pipeline(
            StandardScaler(),
            SVC(
                C=float(p["C"]),
                kernel=p["kernel"],
                gamma=p["gamma"],
                class_weight=class_weight,
                random_state=seed,
            ),
        )
    if name == "au_enhanced":
        return AuEnhancedClassifier(
            n_action_units=len(ACTION_UNITS),
            n_clusters=int(p["n_clusters"]),
            n_components=int(p["n_components"]),
            C=float(p["C"]),
            class_weight=class_weight,
            random_state=seed,
        )
    raise ValueError(
        f"unknown scikit-learn model {name!r}; choose from {SKLEARN_MODELS}"
    )


def sklearn_features(name: str, inputs: ModelInputs, index: np.ndarray) -> np.ndarray:
    """Frame samples ``index`` as the model's ``X``."""
    if name == "au_enhanced":
        action_units = inputs.action_units[inputs.sample_clip[index]].astype(np.float32)
        return np.hstack([action_units, inputs.embeddings[index]])
    return inputs.embeddings[index]


def _prediction_rows(
    inputs: ModelInputs, model: str, fold: Fold, level: str, probabilities: np.ndarray
) -> pd.DataFrame:
    """Rows of one fold's test predictions at the model's level.

    A clip-level model (the flow baseline: one flow map per clip) has no frame
    predictions; its clip rows carry ``frame`` and ``aug_id`` -1, like the
    clip rows that ``pool_predictions`` derives from frame predictions.
    """
    index = fold.test
    if level == "frame":
        clip = inputs.sample_clip[index]
        frame, aug_id = inputs.sample_frame[index], inputs.sample_aug_id[index]
    else:
        clip = index
        frame = aug_id = np.full(len(index), -1, np.int64)
    classes = inputs.classes
    table = pd.DataFrame(
        {
            "data_source": inputs.clip_source[clip],
            "embedding_weights": str(inputs.embedding_weights),
            "dataset": inputs.clip_dataset[clip],
            "protocol": fold.protocol,
            "model": model,
            "fold": fold.name,
            "level": level,
            "subject": inputs.clip_subject[clip],
            "partition": inputs.clip_partition[clip],
            "clip": inputs.clip_name[clip],
            "frame": frame.astype(np.int64),
            "aug_id": aug_id.astype(np.int64),
            "y_true": inputs.clip_label[clip],
            "y_pred": classes[np.argmax(probabilities, axis=1)]
            if len(index)
            else np.array([], str),
        }
    )
    for k, name in enumerate(classes):
        table[f"prob_{name}"] = probabilities[:, k].astype(np.float32)
    return table


def _log_fold(
    model: str, fold: Fold, progress: tuple[int, int], seconds: float, extra: str = ""
) -> None:
    """One line per fold: folds take seconds to minutes, so every one is worth a line."""
    logger.info(
        "%s %s fold %d/%d (%s): %d train, %d validation, %d test samples, %.1f s%s",
        model,
        fold.protocol,
        *progress,
        fold.name,
        len(fold.train),
        len(fold.validation),
        len(fold.test),
        seconds,
        extra,
    )


def evaluate_keras(
    name: str, inputs: ModelInputs, folds: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, Any]:
    """Fit a Keras model on every fold; predictions of the test samples, final model."""
    import keras  # noqa: PLC0415

    spec, p = KERAS_SPECS[name], params["models"][name]
    settings = {
        "epochs": p["epochs"],
        "batch_size": p["batch_size"],
        "patience": params["early_stopping"]["patience"],
    }
    seed = int(params["seed"])
    keras.utils.set_random_seed(seed)  # the initial weights
    trainer = KerasTrainer(
        lambda: spec.build(inputs, p, params),
        lambda: (
            keras.optimizers.SGD(
                float(p["learning_rate"]), momentum=float(p["momentum"])
            )
            if spec.optimizer == "sgd"
            else keras.optimizers.Adam(float(p["learning_rate"]))
        ),
        resolve_precision(params["precision"]),
        spec.standardisers,
        int(params["steps_per_execution"]),
    )
    y = inputs.sample_y if spec.level == "frame" else inputs.clip_y
    weighted = params["class_weight"] == "balanced"
    tables = []
    fold_list = list(iter_folds(folds, spec.level))
    for number, fold in enumerate(fold_list, start=1):
        start = time.perf_counter()
        x_train = keras_arrays(inputs, spec.inputs, fold.train, p)
        y_train = y[fold.train]
        if name == "flow_cnn" and p["flip_augment"]:  # training samples only
            flipped = {k: flip_flow(v, list(p["channels"])) for k, v in x_train.items()}
            x_train = {k: np.concatenate([v, flipped[k]]) for k, v in x_train.items()}
            y_train = np.concatenate([y_train, y_train])
        validation = (
            (keras_arrays(inputs, spec.inputs, fold.validation, p), y[fold.validation])
            if len(fold.validation)
            else None
        )
        epochs = trainer.fit(
            x_train,
            y_train,
            sample_weight=balanced_sample_weights(y_train, weighted),
            validation=validation,
            n_classes=inputs.n_classes,
            settings=settings,
            seed=seed,
        )
        if fold.protocol != FINAL:
            probabilities = trainer.predict(
                keras_arrays(inputs, spec.inputs, fold.test, p)
            )
            tables.append(
                _prediction_rows(inputs, name, fold, spec.level, probabilities)
            )
        _log_fold(
            name,
            fold,
            (number, len(fold_list)),
            time.perf_counter() - start,
            f", {epochs} epochs",
        )
    return _concat(tables, inputs), trainer.model


def evaluate_sklearn(
    name: str, inputs: ModelInputs, folds: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, BaseEstimator]:
    """Fit a scikit-learn model on every fold; predictions of the test samples, final model.

    Validation samples (early stopping is for the networks) are not used.
    """
    class_weight = "balanced" if params["class_weight"] == "balanced" else None
    template = sklearn_template(
        name, params["models"][name], class_weight, int(params["seed"])
    )
    y = inputs.sample_y
    tables, fitted = [], None
    fold_list = list(iter_folds(folds, "frame"))
    for number, fold in enumerate(fold_list, start=1):
        start = time.perf_counter()
        fitted = fit_estimator(
            template, sklearn_features(name, inputs, fold.train), y[fold.train]
        )
        if fold.protocol != FINAL:
            scores = class_scores(
                fitted, sklearn_features(name, inputs, fold.test), inputs.n_classes
            )
            tables.append(_prediction_rows(inputs, name, fold, "frame", scores))
        _log_fold(name, fold, (number, len(fold_list)), time.perf_counter() - start)
    return _concat(tables, inputs), fitted


def _concat(tables: list[pd.DataFrame], inputs: ModelInputs) -> pd.DataFrame:
    if tables:
        return pd.concat(tables, ignore_index=True)
    empty = _prediction_rows(
        inputs,
        "",
        Fold("", "", *(np.array([], np.int64),) * 3),
        "frame",
        np.zeros((0, inputs.n_classes), np.float32),
    )
    return empty
