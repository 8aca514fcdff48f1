"""Fitting one model per fold: Keras (compiled once, reset per fold) and scikit-learn.

Keras models are built and compiled once per node and reset to the same
initial weights, optimizer state and dropout seeds before every fold: the
result is the same as building a fresh model per fold (same seed), without
re-tracing the training graph each time (about 6 s per fold for
HybridMicroNet on 2 CPU cores). Everything fitted on data (the standardisers'
statistics, class weights, early stopping) sees the fold's training samples
only, or its validation samples, which come from training subjects.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.dummy import DummyClassifier

from me_emotion.core.model_interface import PROBABILITIES
from me_emotion.core.vgg16 import dtype_policy, seed_keras

logger = logging.getLogger(__name__)


def balanced_sample_weights(y: np.ndarray, enabled: bool) -> np.ndarray:
    """``n / (k * count(class))`` per sample over the classes present (scikit-learn's
    ``balanced``), or ones."""
    if not enabled or not len(y):
        return np.ones(len(y), np.float32)
    present, counts = np.unique(y, return_counts=True)
    weight = dict(zip(present, len(y) / (len(present) * counts)))
    return np.array([weight[v] for v in y], np.float32)


def fit_standardisers(
    model: Any, x_train: dict[str, np.ndarray], inputs_of: dict[str, str]
) -> None:
    """Set each standardiser layer's mean and variance from the training inputs.

    Args:
        model: a model holding frozen ``BatchNormalization`` standardisers.
        x_train: the training fold's model inputs by name.
        inputs_of: ``{layer name: input name}``, e.g. ``{"embedding_scale": "embedding"}``.
    """
    for layer_name, input_name in inputs_of.items():
        if input_name not in x_train:  # a branch this variant leaves out
            continue
        data = np.asarray(x_train[input_name], np.float64)
        axes = tuple(range(data.ndim - 1))
        layer = model.get_layer(layer_name)
        layer.moving_mean.assign(data.mean(axis=axes).astype(np.float32))
        layer.moving_variance.assign(data.var(axis=axes).astype(np.float32))


class KerasTrainer:
    """One compiled Keras model, reset and refitted per fold.

    Args:
        build: returns the uncompiled model (called once, under ``precision``).
        optimizer: returns the optimizer (called once).
        precision: ``float32`` or ``bfloat16`` (Keras ``mixed_bfloat16``).
        standardisers: ``{layer name: input name}`` refitted on each training fold.
        steps_per_execution: training steps per compiled call: the same updates
            with less per-step overhead (2x for HybridMicroNet under bf16).
    """

    def __init__(
        self,
        build: Callable[[], Any],
        optimizer: Callable[[], Any],
        precision: str,
        standardisers: dict[str, str],
        steps_per_execution: int = 1,
    ):
        with dtype_policy(precision):
            self.model = build()
        # a dict output (late fusion) trains each branch head on its own loss;
        # ``probabilities``, their mean, is what predict returns
        self._heads = (
            [name for name in self.model.output if name != PROBABILITIES]
            if isinstance(self.model.output, dict)
            else None
        )
        self.model.compile(
            optimizer=optimizer(),
            loss="categorical_crossentropy"
            if self._heads is None
            else dict.fromkeys(self._heads, "categorical_crossentropy"),
            steps_per_execution=steps_per_execution,
        )
        self.model.optimizer.build(self.model.trainable_variables)
        self._standardisers = standardisers
        self._initial = [v.numpy() for v in self.model.variables]
        self._initial_optimizer = [v.numpy() for v in self.model.optimizer.variables]

    def reset(self) -> None:
        """Initial weights, optimizer state and dropout seeds, as after building."""
        for variable, value in zip(self.model.variables, self._initial):
            variable.assign(value)
        for variable, value in zip(
            self.model.optimizer.variables, self._initial_optimizer
        ):
            variable.assign(value)

    def fit(
        self,
        x_train: dict[str, np.ndarray],
        y_train: np.ndarray,
        *,
        sample_weight: np.ndarray,
        validation: tuple[dict[str, np.ndarray], np.ndarray] | None,
        n_classes: int,
        settings: dict[str, Any],
        seed: int,
    ) -> int:
        """Train from the initial state; returns the number of epochs run.

        ``validation`` (training subjects only) enables early stopping on its
        loss, restoring the best epoch's weights; without it every epoch runs.
        """
        import keras  # noqa: PLC0415

        self.reset()
        fit_standardisers(self.model, x_train, self._standardisers)
        seed_keras(seed)  # the same shuffles whatever ran before
        callbacks, validation_data = [], None

        def targets(y: np.ndarray) -> Any:
            onehot = keras.utils.to_categorical(y, n_classes)
            return onehot if self._heads is None else dict.fromkeys(self._heads, onehot)

        if validation is not None and len(validation[1]):
            x_val, y_val = validation
            validation_data = (x_val, targets(y_val))
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    patience=int(settings["patience"]),
                    restore_best_weights=True,
                )
            )
        history = self.model.fit(
            x_train,
            targets(y_train),
            sample_weight=sample_weight,
            epochs=int(settings["epochs"]),
            batch_size=int(settings["batch_size"]),
            shuffle=True,
            validation_data=validation_data,
            callbacks=callbacks,
            verbose=0,
        )
        return len(history.epoch)

    def predict(self, x: dict[str, np.ndarray]) -> np.ndarray:
        """Class probabilities ``(n, K)`` float32."""
        if not len(next(iter(x.values()))):
            output = self.model.output
            output = output[PROBABILITIES] if isinstance(output, dict) else output
            return np.zeros((0, output.shape[-1]), np.float32)
        predicted = self.model.predict(x, batch_size=256, verbose=0)
        if isinstance(predicted, dict):
            predicted = predicted[PROBABILITIES]
        return np.asarray(predicted, np.float32)


def predict_heads(model: Any, x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each branch head's probabilities ``{branch: (n, K)}`` of a late-fusion model."""
    predicted = model.predict(x, batch_size=256, verbose=0)
    suffix = f"_{PROBABILITIES}"
    return {
        name[: -len(suffix)]: np.asarray(values, np.float32)
        for name, values in predicted.items()
        if name.endswith(suffix)
    }


def fit_estimator(
    template: BaseEstimator,
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None = None,
) -> BaseEstimator:
    """A fresh clone of ``template`` fitted on ``(X, y)``.

    ``groups`` (each row's subject) goes to an estimator whose ``fit`` takes
    it (``au_predicted`` cross-fits over subjects); others never see it.
    A training fold with a single class (possible on tiny data) gets a
    constant classifier instead, which scikit-learn's SVM and logistic
    regression refuse to fit.
    """
    if len(np.unique(y)) < 2:
        logger.warning("A training fold has one class only: predicting it everywhere")
        return DummyClassifier(strategy="prior").fit(X, y)
    if groups is not None and "groups" in inspect.signature(template.fit).parameters:
        return clone(template).fit(X, y, groups=groups)
    return clone(template).fit(X, y)


def class_scores(estimator: BaseEstimator, X: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n, n_classes)`` class scores summing to 1, columns in class-index order.

    ``predict_proba`` where the estimator has it; otherwise (the SVM) a softmax
    of the one-vs-rest decision values — ordered like probabilities but not
    calibrated. Classes absent from the training fold score 0.
    """
    out = np.zeros((len(X), n_classes), np.float32)
    if not len(X):
        return out
    if hasattr(estimator, "predict_proba"):
        scores = estimator.predict_proba(X)
    else:
        decision = np.asarray(estimator.decision_function(X), np.float64)
        if decision.ndim == 1:  # two classes: one margin
            decision = np.column_stack([-decision, decision])
        decision -= decision.max(axis=1, keepdims=True)
        scores = np.exp(decision)
        scores /= scores.sum(axis=1, keepdims=True)
    out[:, np.asarray(estimator.classes_, dtype=np.int64)] = scores
    return out
