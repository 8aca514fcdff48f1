"""Contrast-limited adaptive histogram equalisation (CLAHE) of face crops."""

from __future__ import annotations

import cv2
import numpy as np


def apply_clahe(
    crops: np.ndarray, clip_limit: float, tile_grid_size: tuple[int, int]
) -> np.ndarray:
    """CLAHE of each ``uint8`` crop of ``(N, H, W)``; same shape and dtype.

    Args:
        crops: grayscale crops.
        clip_limit: contrast limit per tile (OpenCV's ``clipLimit``; 2-4 is usual).
        tile_grid_size: tiles per ``(column, row)``.
    """
    clahe = cv2.createCLAHE(
        clipLimit=float(clip_limit), tileGridSize=tuple(tile_grid_size)
    )
    out = np.empty_like(crops)
    for i, crop in enumerate(crops):
        out[i] = clahe.apply(crop)
    return out
