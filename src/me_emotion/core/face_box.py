"""The face stage's crop policy: one face box per clip, then crop -> resize -> CLAHE.

Shared by the face stage (``face_detection``: training clips) and the video
stage (``video_analysis``: spotted and ground-truth intervals), so a model
sees at prediction time the crops it was trained on. Parameters: a
``face_detection`` block (conf/base/parameters_face_detection.yml).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from me_emotion.core.clahe import apply_clahe
from me_emotion.core.crop import crop_and_resize, square_crop_box
from me_emotion.core.haar import HaarSettings, find_face


@dataclass(frozen=True)
class ClipBox:
    """A clip's face and crop box ``(x, y, width, height)`` in frame pixels.

    ``face`` and ``crop`` are None when the detector found no face on any
    frame tried; ``frames_tried`` are the frame numbers it ran on (none for
    ``whole_frame``).
    """

    face: tuple[int, int, int, int] | None
    crop: tuple[int, int, int, int] | None
    frame_number: int | None
    n_faces: int = 0
    frames_tried: list[int] = field(default_factory=list)


def haar_settings(params: dict[str, Any]) -> HaarSettings:
    """``detectMultiScale`` settings of a ``face_detection`` block."""
    return HaarSettings(
        float(params["scale_factor"]),
        int(params["min_neighbors"]),
        tuple(params["min_size"]),
    )


def clip_box(
    frames: np.ndarray,
    frame_numbers: np.ndarray,
    params: dict[str, Any],
    classifier: Callable[[], cv2.CascadeClassifier],
) -> ClipBox:
    """The clip's box, as the face stage chooses it.

    ``detector: haar``: the largest face on the first of ``frames`` (the onset)
    that has one, trying at most ``max_frames_tried`` frames
    (``core.haar.find_face``); the crop is that face squared, grown by
    ``margin`` on each side and shifted inside the frame. ``whole_frame``:
    the whole frame. ``classifier`` is called only when the cascade runs.
    """
    height, width = frames.shape[1:3]
    if params["detector"] == "whole_frame":
        whole = (0, 0, int(width), int(height))
        return ClipBox(whole, whole, int(frame_numbers[0]), 1)
    search = find_face(
        frames,
        frame_numbers,
        classifier(),
        haar_settings(params),
        int(params["max_frames_tried"]),
    )
    if search.box is None:
        return ClipBox(None, None, None, 0, search.frames_tried)
    return ClipBox(
        search.box,
        square_crop_box(search.box, height, width, params["margin"]),
        search.frame_number,
        search.n_faces,
        search.frames_tried,
    )


def training_crops(
    frames: np.ndarray, crop: tuple[int, int, int, int], params: dict[str, Any]
) -> np.ndarray:
    """``(N, S, S)`` uint8: ``frames`` cut to ``crop``, resized to ``crop_size``, CLAHE."""
    clahe = params["clahe"]
    return apply_clahe(
        crop_and_resize(frames, crop, int(params["crop_size"])),
        clahe["clip_limit"],
        tuple(clahe["tile_grid_size"]),
    )
