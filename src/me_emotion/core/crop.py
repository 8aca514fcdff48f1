"""Square face crop box around a detection, and cropping a clip's frames with it."""

from __future__ import annotations

import cv2
import numpy as np


def square_crop_box(
    face_box: tuple[int, int, int, int],
    frame_height: int,
    frame_width: int,
    margin: float,
) -> tuple[int, int, int, int]:
    """Square ``(x, y, width, height)`` around a face, inside the frame.

    The box's side is the face box's longer side plus ``margin`` of it on each
    side, centred on the face. Near a frame edge the box is shifted, not cut,
    so the face keeps its aspect ratio; only a box larger than the frame is cut
    to the frame's shorter side.
    """
    x, y, width, height = face_box
    side = min(round(max(width, height) * (1 + 2 * margin)), frame_height, frame_width)
    left = round(x + width / 2 - side / 2)
    top = round(y + height / 2 - side / 2)
    left = min(max(left, 0), frame_width - side)
    top = min(max(top, 0), frame_height - side)
    return int(left), int(top), int(side), int(side)


def crop_and_resize(
    frames: np.ndarray, box: tuple[int, int, int, int], size: int
) -> np.ndarray:
    """``frames`` ``(N, H, W)`` cut to ``box`` and resized to ``(N, size, size)``."""
    x, y, width, height = box
    # INTER_AREA averages when shrinking (no aliasing); it degrades to nearest when enlarging.
    interpolation = cv2.INTER_AREA if min(width, height) >= size else cv2.INTER_LINEAR
    crops = np.empty((len(frames), size, size), dtype=np.uint8)
    for i, frame in enumerate(frames):
        crops[i] = cv2.resize(
            frame[y : y + height, x : x + width],
            (size, size),
            interpolation=interpolation,
        )
    return crops
