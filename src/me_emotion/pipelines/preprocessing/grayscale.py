"""Any decoded frame (grey, BGR, BGRA, 8 or 16 bit) -> 8-bit grayscale."""

from __future__ import annotations

import cv2
import numpy as np

_TO_GRAY = {3: cv2.COLOR_BGR2GRAY, 4: cv2.COLOR_BGRA2GRAY}


def to_gray_uint8(image: np.ndarray, source: str) -> np.ndarray:
    """The frame as a ``uint8`` ``(H, W)`` grayscale array.

    Colour frames (OpenCV's BGR/BGRA order) are converted with ITU-R BT.601
    weights, as ``cv2.IMREAD_GRAYSCALE`` does; 16-bit frames keep their top
    8 bits.

    Args:
        image: the decoded frame.
        source: where it came from, named in the error for an unusable frame.

    Raises:
        ValueError: for an array that is not a 2-D image with 1, 3 or 4
            channels of 8- or 16-bit values.
    """
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] in _TO_GRAY:
        image = cv2.cvtColor(image, _TO_GRAY[image.shape[2]])
    if image.ndim != 2 or image.dtype not in (np.uint8, np.uint16):
        raise ValueError(
            f"Frame '{source}' is a {image.dtype} array of shape {image.shape}, not "
            "an 8- or 16-bit grey or colour image; re-export it as an 8-bit JPEG/PNG."
        )
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    return np.ascontiguousarray(image)
