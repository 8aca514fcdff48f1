"""Model-input images and the method's augmentation, without leakage.

Every face crop (256x256) becomes a 224x224 model image: the crop resized to
218x218 plus the method's 3-pixel border (the paper adds a 3-pixel border
around its 224x224 input; we keep the network input at 224x224 so every model
of the training stage shares it — ``border_px`` is a parameter).

Augmented variants (flip, small rotation, rescale) are tagged with ``aug_id``
(0 = the untouched image) and derived deterministically from
``(seed, clip, aug_id)``: all frames of a clip get the same transform, and the
training stage decides which variants it uses (those of training clips only).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np


@dataclass(frozen=True)
class Augmentation:
    """One geometric variant: applied identically to every frame of a clip."""

    flip: bool
    rotation_deg: float
    scale: float

    @property
    def is_identity(self) -> bool:
        return not self.flip and self.rotation_deg == 0.0 and self.scale == 1.0


IDENTITY = Augmentation(flip=False, rotation_deg=0.0, scale=1.0)


def augmentation_for(clip: str, aug_id: int, params: dict[str, Any]) -> Augmentation:
    """The transform of variant ``aug_id`` of ``clip`` (0 is the identity).

    Args:
        clip: clip key (e.g. ``sub01/EP02_01f``); part of the seed.
        aug_id: 0 for the original, 1..``params["variants"]`` for variants.
        params: ``seed``, ``flip_probability``, ``max_rotation_deg``,
            ``scale_range``.
    """
    if aug_id == 0:
        return IDENTITY
    rng = np.random.default_rng(
        [int(params["seed"]), zlib.crc32(clip.encode()), aug_id]
    )
    low, high = params["scale_range"]
    return Augmentation(
        flip=bool(rng.random() < params["flip_probability"]),
        rotation_deg=float(rng.uniform(-1, 1) * params["max_rotation_deg"]),
        scale=float(rng.uniform(low, high)),
    )


def apply_augmentation(image: np.ndarray, augmentation: Augmentation) -> np.ndarray:
    """Flip, rotate and rescale about the centre; edges are reflected, size kept."""
    if augmentation.is_identity:
        return image
    out = image[:, ::-1] if augmentation.flip else image
    height, width = out.shape[:2]
    matrix = cv2.getRotationMatrix2D(
        (width / 2, height / 2), augmentation.rotation_deg, augmentation.scale
    )
    return cv2.warpAffine(
        np.ascontiguousarray(out),
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT_101,
    )


def to_model_image(
    crop: np.ndarray, image_size: int = 224, border_px: int = 3
) -> np.ndarray:
    """A face crop as a ``image_size`` square model image with a black border."""
    inner = image_size - 2 * border_px
    if inner <= 0:
        raise ValueError(f"border_px={border_px} leaves no image inside {image_size}px")
    interpolation = cv2.INTER_AREA if crop.shape[0] > inner else cv2.INTER_LINEAR
    resized = cv2.resize(crop, (inner, inner), interpolation=interpolation)
    return cv2.copyMakeBorder(
        resized,
        border_px,
        border_px,
        border_px,
        border_px,
        cv2.BORDER_CONSTANT,
        value=0,
    )


def model_images(
    crops: np.ndarray,
    clip: str,
    aug_id: int,
    augmentation: dict[str, Any],
    image: dict[str, Any],
) -> np.ndarray:
    """Model images ``(N, size, size)`` uint8 of a clip's crops for one ``aug_id``."""
    transform = augmentation_for(clip, aug_id, augmentation)
    return np.stack(
        [
            to_model_image(
                apply_augmentation(crop, transform), image["size"], image["border_px"]
            )
            for crop in crops
        ]
    )


def image_settings(
    params: dict[str, Any], feature_params: dict[str, Any]
) -> dict[str, int]:
    """The model image branch's size and border (training ``image`` block).

    ``params`` is a training block, ``feature_params`` the feature stage's;
    a null ``border_px`` scales the feature stage's border to this size.
    """
    size = int(params["image"]["size"])
    border = params["image"].get("border_px")
    if border is None:
        fe = feature_params["image"]
        border = (
            max(1, round(int(fe["border_px"]) * size / int(fe["size"])))
            if int(fe["border_px"])
            else 0
        )
    return {"size": size, "border_px": int(border)}
