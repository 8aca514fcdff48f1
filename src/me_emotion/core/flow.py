"""Dense optical flow between a clip's onset and apex crops, and optical strain.

The field's strongest cheap signal for micro-expressions (OFF-ApexNet,
STSTNet): horizontal flow u, vertical flow v, magnitude, and optical strain
(the magnitude of the flow field's symmetric gradient, which highlights
local skin deformation over rigid head motion).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

FLOW_CHANNELS = ("u", "v", "magnitude", "strain")


def dense_flow(
    first: np.ndarray, second: np.ndarray, params: dict[str, Any]
) -> np.ndarray:
    """Flow ``(H, W, 2)`` in pixels from ``first`` to ``second`` (uint8 grayscale).

    ``params["method"]``: ``tvl1`` (OpenCV contrib's Dual TV-L1, the field's
    usual choice) or ``farneback`` (core OpenCV, faster).
    """
    method = params["method"]
    if method == "tvl1":
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
        return tvl1.calc(first, second, None)
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(
            first,
            second,
            None,
            pyr_scale=0.5,
            levels=3,
            winsize=15,
            iterations=3,
            poly_n=5,
            poly_sigma=1.2,
            flags=0,
        )
    raise ValueError(f"flow method must be 'tvl1' or 'farneback', got '{method}'")


def optical_strain(flow: np.ndarray) -> np.ndarray:
    """Strain magnitude ``sqrt(u_x^2 + v_y^2 + 0.5 (u_y + v_x)^2)`` per pixel."""
    u, v = flow[..., 0], flow[..., 1]
    u_y, u_x = np.gradient(u)
    v_y, v_x = np.gradient(v)
    return np.sqrt(u_x**2 + v_y**2 + 0.5 * (u_y + v_x) ** 2)


def flow_features(
    first: np.ndarray, second: np.ndarray, params: dict[str, Any]
) -> np.ndarray:
    """``(4, grid, grid)`` float32: u, v, magnitude, strain on a small grid.

    Flow is computed at ``params["image_size"]`` (both crops area-resized to
    that square first; None: the crops' own resolution), then area-averaged to
    ``params["grid"]`` (e.g. 28); u and v are rescaled to grid pixels so the
    values keep their meaning as displacements at the grid's scale.
    """
    size = params.get("image_size")
    if size is not None and first.shape[:2] != (int(size), int(size)):
        first, second = (
            cv2.resize(image, (int(size), int(size)), interpolation=cv2.INTER_AREA)
            for image in (first, second)
        )
    flow = dense_flow(first, second, params).astype(np.float32)
    grid = int(params["grid"])
    strain = optical_strain(flow)  # dimensionless: unaffected by the rescaling
    flow[..., 0] *= grid / flow.shape[1]
    flow[..., 1] *= grid / flow.shape[0]
    channels = [flow[..., 0], flow[..., 1], np.linalg.norm(flow, axis=2), strain]
    return np.stack(
        [cv2.resize(c, (grid, grid), interpolation=cv2.INTER_AREA) for c in channels]
    ).astype(np.float32)
