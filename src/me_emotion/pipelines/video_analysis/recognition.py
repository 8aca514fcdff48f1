"""Classify spotted intervals with a trained CASME-II or SAMM model.

The models see exactly what they saw in training, built with the training
and feature stages' own functions: HybridMicroNet (the default, per clip) the
apex-minus-onset VGG-16 embedding (``feature_extraction.vgg16``, the
namespace's weights and precision), the apex-minus-onset small model image
(``augmentation.model_images`` at ``training.image``) and the onset->apex
flow maps, as its ``branches`` say; the flow CNN the onset->apex flow maps
(``feature_extraction.flow.flow_features``). :func:`hybrid_probabilities`
keeps the single-frame model's path (``hybrid_micronet_paper``: the mean
over an interval's frames, as ``training.pool_predictions`` does for clips). The crops
are 256x256 CLAHE face crops, as in training.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from me_emotion.core import model_interface as names
from me_emotion.core.augmentation import image_settings, model_images
from me_emotion.core.flow import FLOW_CHANNELS, flow_features
from me_emotion.core.vgg16 import (
    Vgg16Weights,
    build_vgg16,
    embed,
    resolve_execution,
)

RECOGNITION_MODELS = ("hybrid_micronet", "flow_cnn")
_VGG_CACHE: dict[tuple, Any] = {}


def _vgg16(weights: Vgg16Weights, precision: str, features: dict[str, Any]) -> Any:
    key = (
        weights.label,
        str(weights.identity),
        precision,
        int(features["image"]["size"]),
        int(features["seed"]),
    )
    if key not in _VGG_CACHE:
        _VGG_CACHE.clear()  # one extractor at a time: VGG-16 is large
        _VGG_CACHE[key] = build_vgg16(
            weights,
            precision,
            image_size=int(features["image"]["size"]),
            seed=int(features["seed"]),
        )[0]
    return _VGG_CACHE[key]


def hybrid_probabilities(  # noqa: PLR0913, PLR0917 - the namespace's model, weights and settings
    model: Any,
    frames: np.ndarray,
    training: dict[str, Any],
    features: dict[str, Any],
    vgg16_weights: Vgg16Weights,
    precision: str,
) -> np.ndarray:
    """``(n, K)`` class probabilities of ``n`` intervals from their crops ``(n, f, S, S)``.

    Each of the ``f`` frames of an interval is classified; the interval's
    probabilities are their mean. The embeddings come from VGG-16 with the
    namespace's weights at ``precision`` (resolved), as in training.
    """
    n, per = frames.shape[:2]
    if n == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    flat = frames.reshape(n * per, *frames.shape[2:])
    identity = {**features["augmentation"], "variants": 0}
    vgg_images = model_images(flat, "video", 0, identity, features["image"])
    embeddings = embed(
        _vgg16(vgg16_weights, precision, features),
        vgg_images,
        int(features["batch_size"]),
        resolve_execution(features["execution"]),
    )
    small = model_images(flat, "video", 0, identity, image_settings(training, features))
    probabilities = model.predict(
        {
            names.IMAGE_INPUT: small[..., None].astype(np.float32),
            names.EMBEDDING_INPUT: embeddings,
        },
        batch_size=256,
        verbose=0,
    )
    return np.asarray(probabilities, np.float32).reshape(n, per, -1).mean(axis=1)


def onset_hybrid_probabilities(  # noqa: PLR0913, PLR0917 - the namespace's model, crops and settings
    model: Any,
    onsets: np.ndarray,
    apexes: np.ndarray,
    training: dict[str, Any],
    features: dict[str, Any],
    vgg16_weights: Vgg16Weights,
    precision: str,
    *,
    maps: np.ndarray | None = None,
) -> np.ndarray:
    """``(n, K)`` probabilities of the default HybridMicroNet from each interval's
    onset and apex crops ``(n, S, S)``: apex minus onset, as in training."""
    options = training["models"]["hybrid_micronet"]
    if len(onsets) == 0:
        return np.zeros((0, output_width(model)), np.float32)
    identity = {**features["augmentation"], "variants": 0}
    x: dict[str, np.ndarray] = {}
    branches = list(options["branches"])
    if names.EMBEDDING_DELTA_INPUT in branches:
        vgg = _vgg16(vgg16_weights, precision, features)
        onset, apex = (
            embed(
                vgg,
                model_images(crops, "video", 0, identity, features["image"]),
                int(features["batch_size"]),
                resolve_execution(features["execution"]),
            )
            for crops in (onsets, apexes)
        )
        x[names.EMBEDDING_DELTA_INPUT] = apex - onset
    if names.IMAGE_DELTA_INPUT in branches:
        size = image_settings(training, features)
        onset, apex = (
            model_images(crops, "video", 0, identity, size).astype(np.float32)
            for crops in (onsets, apexes)
        )
        x[names.IMAGE_DELTA_INPUT] = (apex - onset)[..., None]
    if names.FLOW_INPUT in branches:
        if maps is None:
            maps = interval_flow_maps(onsets, apexes, features["flow"])
        channels = [FLOW_CHANNELS.index(c) for c in options["channels"]]
        x[names.FLOW_INPUT] = maps[..., channels]
    predicted = model.predict(x, batch_size=256, verbose=0)
    if isinstance(predicted, dict):
        predicted = predicted[names.PROBABILITIES]
    return np.asarray(predicted, np.float32)


def output_width(model: Any) -> int:
    """Classes of a model's output (``probabilities`` of a late-fusion dict output)."""
    output = model.output
    if isinstance(output, dict):
        output = output[names.PROBABILITIES]
    return int(output.shape[-1])


def interval_flow_maps(
    onsets: np.ndarray, apexes: np.ndarray, flow: dict[str, Any]
) -> np.ndarray:
    """``(n, H, W, C)`` onset->apex flow maps of ``n`` intervals (``feature_extraction.flow``)."""
    return np.stack(
        [flow_features(a, b, flow) for a, b in zip(onsets, apexes)]
    ).transpose(0, 2, 3, 1)


def flow_probabilities(
    model: Any,
    onsets: np.ndarray,
    apexes: np.ndarray,
    training: dict[str, Any],
    features: dict[str, Any],
    *,
    maps: np.ndarray | None = None,
) -> np.ndarray:
    """``(n, K)`` class probabilities from the onset->apex flow of each interval.

    ``maps``: the intervals' ``interval_flow_maps`` under ``features["flow"]``
    when already computed (both namespaces' flow settings are usually equal).
    """
    if len(onsets) == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    if maps is None:
        maps = interval_flow_maps(onsets, apexes, features["flow"])
    channels = [
        FLOW_CHANNELS.index(c) for c in training["models"]["flow_cnn"]["channels"]
    ]
    probabilities = model.predict(
        {names.FLOW_INPUT: maps[..., channels]}, batch_size=256, verbose=0
    )
    return np.asarray(probabilities, np.float32)


def check_classes(model: Any, classes: list[str], namespace: str) -> None:
    """Raise when the model's output width differs from ``training.classes``."""
    width = output_width(model)
    if width != len(classes):
        raise ValueError(
            f"{namespace} model has {width} outputs but {namespace}.training.classes "
            f"lists {len(classes)} ({classes}): the model on disk was trained with "
            f"other classes; re-run `kedro run --pipelines={namespace}`"
        )
