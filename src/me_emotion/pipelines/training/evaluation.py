"""One model on every fold: the fold loop behind ``nodes.evaluate_model``.

Every model of the registry (``registry.py``) is fitted once per fold of each
protocol, then once on every subject (``final``), which is the model kept for
inference. The folds go through ``me_emotion.prefetch.map_tasks``, so a runner
that spreads tasks may fit them in parallel: ``fit_one_fold`` is a module-level
function of plain data (a :class:`ModelEvaluation` and a numbered fold).

Keras models are compiled once per :class:`ModelEvaluation` (per process) and
reset to the same initial state before every fold (``fitting.KerasTrainer``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from me_emotion.core.flow import FLOW_CHANNELS
from me_emotion.core.model_interface import (
    EMBEDDING_DELTA_INPUT,
    EMBEDDING_INPUT,
    FLOW_INPUT,
    IMAGE_DELTA_INPUT,
    IMAGE_INPUT,
)
from me_emotion.core.vgg16 import seed_keras

from . import fusion
from .fitting import (
    KerasTrainer,
    balanced_sample_weights,
    class_scores,
    fit_estimator,
    predict_heads,
)
from .inputs import ModelInputs, apex_minus_onset
from .protocols import FINAL, RANDOM_SPLIT, Fold
from .registry import ACTION_UNITS_INPUT, ModelSpec

logger = logging.getLogger(__name__)

# The settings that produced a prediction row, carried into every metrics row.
SETTINGS_COLUMNS = ["settings", "image_size", "epochs", "n_seeds"]
PAPER_IMAGE_SIZE = 224  # px: the method's image input (conf/paper/)
PAPER_WEIGHTS = "imagenet"  # the method's VGG-16 weights


def settings_label(image_size: int, embedding_weights: str) -> str:
    """How a run's settings compare with the method's, for every table.

    ``paper settings`` needs both the method's 224 px image input (the ``paper``
    configuration environment) and ImageNet VGG-16 weights; with other weights
    the label says which were used. Anything else is ``demo settings``.
    """
    if image_size != PAPER_IMAGE_SIZE:
        return "demo settings"
    if embedding_weights == PAPER_WEIGHTS:
        return "paper settings"
    return (
        f"paper settings except the VGG-16 weights: {embedding_weights} "
        "(the method uses ImageNet)"
    )


def run_settings(
    spec: ModelSpec, options: dict[str, Any], inputs: ModelInputs, n_seeds: int
) -> dict[str, Any]:
    """The ``SETTINGS_COLUMNS`` of one model's rows.

    ``image_size`` is the image branch's (``-`` for a model without one),
    ``epochs`` the configured maximum of a Keras model (``-`` otherwise; early
    stopping may end a fold sooner), ``n_seeds`` the seeds behind the figures.
    """
    image_size = int(inputs.images.shape[1]) if inputs.images.ndim == 3 else 0
    return {
        "settings": settings_label(image_size, str(inputs.embedding_weights)),
        "image_size": str(image_size)
        if {IMAGE_INPUT, IMAGE_DELTA_INPUT} & set(model_inputs(spec, options))
        else "-",
        "epochs": str(options["epochs"]) if spec.family == "keras" else "-",
        "n_seeds": int(n_seeds),
    }


@dataclass(frozen=True)
class FitSettings:
    """The settings every model's fit shares (the training block's, resolved)."""

    seed: int  # initial weights, shuffles, estimators' random_state
    class_weight: str | None  # balanced | None
    precision: str  # float32 | bfloat16 (Keras)
    steps_per_execution: int  # Keras
    patience: int  # Keras early stopping, where a fold has validation samples


@dataclass(eq=False)
class ModelEvaluation:
    """Everything the folds of one model need, as plain (picklable) data.

    A Keras model is built and compiled on first use and kept beside (not in)
    the pickled state, so each process that receives a copy compiles its own.
    """

    name: str
    spec: ModelSpec
    options: dict[str, Any]  # training.models.<name>
    inputs: ModelInputs
    settings: FitSettings
    n_folds: int
    _trainer: KerasTrainer | None = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_trainer": None}

    def trainer(self) -> KerasTrainer:
        if self._trainer is None:
            seed_keras(self.settings.seed)  # the initial weights
            shapes = {
                name: array.shape[1:]
                for name, array in model_arrays(
                    self.inputs, self.spec, np.array([], np.int64), self.options
                ).items()
            }
            self._trainer = KerasTrainer(
                lambda: self.spec.build(self.options, shapes, self.inputs.n_classes),
                lambda: self.spec.optimizer(self.options),
                self.settings.precision,
                self.spec.standardisers,
                self.settings.steps_per_execution,
            )
        return self._trainer


def model_inputs(spec: ModelSpec, options: dict[str, Any]) -> tuple[str, ...]:
    """The inputs a model reads: ``spec.inputs``, or those of its ``branches``."""
    if "branches" not in options:
        return spec.inputs
    return tuple(name for name in spec.inputs if name in options["branches"])


def model_arrays(
    inputs: ModelInputs, spec: ModelSpec, index: np.ndarray, options: dict[str, Any]
) -> dict[str, np.ndarray]:
    """The arrays a model reads (:func:`model_inputs`) for the samples ``index``.

    ``index`` holds rows of the model's level: frame samples, or clips.
    """
    clips = inputs.sample_clip[index] if spec.level == "frame" else index
    arrays = {}
    for name in model_inputs(spec, options):
        if name == IMAGE_INPUT:
            arrays[name] = inputs.images[index][..., None].astype(np.float32)
        elif name == EMBEDDING_INPUT:
            arrays[name] = inputs.embeddings[index]
        elif name == FLOW_INPUT:
            channels = [FLOW_CHANNELS.index(c) for c in options["channels"]]
            arrays[name] = inputs.flow[clips][..., channels]
        elif name == ACTION_UNITS_INPUT:
            arrays[name] = inputs.action_units[clips].astype(np.float32)
        elif name == IMAGE_DELTA_INPUT:
            arrays[name] = apex_minus_onset(
                inputs.onset_image[clips], inputs.apex_image[clips]
            )[..., None]
        elif name == EMBEDDING_DELTA_INPUT:
            arrays[name] = apex_minus_onset(
                inputs.onset_embedding[clips], inputs.apex_embedding[clips]
            )
    return arrays


def sample_subjects(
    inputs: ModelInputs, spec: ModelSpec, index: np.ndarray
) -> np.ndarray:
    """The subject of each sample ``index`` (rows of the model's level)."""
    clips = inputs.sample_clip[index] if spec.level == "frame" else index
    return inputs.clip_subject[clips]


def cross_fitting_groups(
    inputs: ModelInputs, spec: ModelSpec, fold: Fold
) -> np.ndarray:
    """Each training sample's group for an estimator that cross-fits inside the fold.

    The groups imitate how the fold's test samples relate to its training
    samples, so cross-fitted predictions are as good as test-time ones: under
    ``paper_random_split`` test frames' clips (and augmented copies) are in
    training, so every sample is its own group; under the subject protocols a
    test subject is unseen, so samples group by subject.
    """
    if fold.protocol == RANDOM_SPLIT:
        return np.arange(len(fold.train))
    return sample_subjects(inputs, spec, fold.train)


def feature_matrix(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """A scikit-learn model's ``X``: its input arrays' columns side by side."""
    return np.hstack([array.reshape(len(array), -1) for array in arrays.values()])


def fit_one_fold(
    evaluation: ModelEvaluation, numbered: tuple[int, Fold]
) -> tuple[pd.DataFrame | None, Any]:
    """Fit on one fold's training samples; predict its test samples.

    Returns:
        The fold's prediction rows (None for the ``final`` fold, which has no
        test samples) and, for the ``final`` fold only, the fitted model.
    """
    number, fold = numbered
    start = time.perf_counter()
    spec, inputs, settings = evaluation.spec, evaluation.inputs, evaluation.settings
    y = inputs.sample_y if spec.level == "frame" else inputs.clip_y
    x_train = model_arrays(inputs, spec, fold.train, evaluation.options)
    y_train = y[fold.train]
    if spec.augment is not None:  # training samples only
        x_train, y_train = spec.augment(evaluation.options, x_train, y_train)
    extra = ""
    if spec.family == "keras":
        trainer = evaluation.trainer()
        validation = (
            (
                model_arrays(inputs, spec, fold.validation, evaluation.options),
                y[fold.validation],
            )
            if len(fold.validation)
            else None
        )
        choice = fusion.fusion_choice(evaluation.options)
        weights = (
            _choose_fusion_weights(evaluation, fold, choice, validation)
            if choice is not None
            else None
        )
        epochs = _fit_keras(evaluation, x_train, y_train, validation)
        fitted, extra = trainer.model, f", {epochs} epochs"
        if weights is not None:  # after the fit: the fit resets every weight
            from me_emotion.core.architectures import (  # noqa: PLC0415 - Keras
                set_fusion_weights,
            )

            set_fusion_weights(fitted, weights)
            extra += f", fusion {fusion.describe(weights)}"

        def score(x: dict[str, np.ndarray]) -> np.ndarray:
            return trainer.predict(x)

    else:  # validation samples (early stopping is for the networks) are not used
        fitted = fit_estimator(
            spec.build(evaluation.options, settings.class_weight, settings.seed),
            feature_matrix(x_train),
            y_train,
            # augmentation would add rows without a group
            groups=cross_fitting_groups(inputs, spec, fold)
            if spec.augment is None
            else None,
        )

        def score(x: dict[str, np.ndarray]) -> np.ndarray:
            return class_scores(fitted, feature_matrix(x), inputs.n_classes)

    table = None
    if fold.protocol != FINAL:
        probabilities = score(model_arrays(inputs, spec, fold.test, evaluation.options))
        table = prediction_rows(
            inputs, evaluation.name, fold, spec.level, probabilities
        )
    _log_fold(
        evaluation.name,
        fold,
        (number, evaluation.n_folds),
        time.perf_counter() - start,
        extra,
    )
    return table, (fitted if fold.protocol == FINAL else None)


def _fit_keras(
    evaluation: ModelEvaluation,
    x_train: dict[str, np.ndarray],
    y_train: np.ndarray,
    validation: tuple[dict[str, np.ndarray], np.ndarray] | None,
) -> int:
    """The evaluation's Keras model fitted from its initial state; the epochs run."""
    settings = evaluation.settings
    return evaluation.trainer().fit(
        x_train,
        y_train,
        sample_weight=balanced_sample_weights(
            y_train, settings.class_weight == "balanced"
        ),
        validation=validation,
        n_classes=evaluation.inputs.n_classes,
        settings={
            "epochs": evaluation.options["epochs"],
            "batch_size": evaluation.options["batch_size"],
            "patience": settings.patience,
        },
        seed=settings.seed,
    )


def _choose_fusion_weights(
    evaluation: ModelEvaluation,
    fold: Fold,
    choice: fusion.FusionChoice,
    validation: tuple[dict[str, np.ndarray], np.ndarray] | None,
) -> dict[str, float]:
    """Late-fusion weights chosen on part of the fold's training samples (``fusion``)."""
    spec, inputs = evaluation.spec, evaluation.inputs
    y = inputs.sample_y if spec.level == "frame" else inputs.clip_y
    inner, held = fusion.inner_split(
        cross_fitting_groups(inputs, spec, fold),
        choice.validation_share,
        evaluation.settings.seed,
        f"{fold.protocol}/{fold.name}",
    )
    inner_train, held_out = fold.train[inner], fold.train[held]
    x_inner = model_arrays(inputs, spec, inner_train, evaluation.options)
    y_inner = y[inner_train]
    if spec.augment is not None:  # inner-training samples only
        x_inner, y_inner = spec.augment(evaluation.options, x_inner, y_inner)
    _fit_keras(evaluation, x_inner, y_inner, validation)
    heads = predict_heads(
        evaluation.trainer().model,
        model_arrays(inputs, spec, held_out, evaluation.options),
    )
    weights, loss = fusion.choose_weights(heads, y[held_out], choice.levels)
    logger.info(
        "%s %s fold %s: fusion weights %s chosen on %d validation samples of the "
        "training side (balanced log-loss %.3f)",
        evaluation.name,
        fold.protocol,
        fold.name,
        fusion.describe(weights),
        len(held_out),
        loss,
    )
    return weights


def prediction_rows(
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


def concat_predictions(tables: list[pd.DataFrame], inputs: ModelInputs) -> pd.DataFrame:
    """The folds' prediction rows in one table (with its columns when there are none)."""
    if tables:
        return pd.concat(tables, ignore_index=True)
    return prediction_rows(
        inputs,
        "",
        Fold("", "", *(np.array([], np.int64),) * 3),
        "frame",
        np.zeros((0, inputs.n_classes), np.float32),
    )


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
