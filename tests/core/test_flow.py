from __future__ import annotations

import cv2
import numpy as np
import pytest

from me_emotion.core.flow import (
    dense_flow,
    flow_features,
    optical_strain,
)


def textured(size: int = 128) -> np.ndarray:
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, size=(size, size)).astype(np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 2.0)


def shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(
        image, matrix, image.shape[::-1], borderMode=cv2.BORDER_REFLECT
    )


@pytest.mark.parametrize("method", ["tvl1", "farneback"])
def test_flow_recovers_a_known_shift(method):
    first = textured()
    second = shifted(first, 2.0, -1.0)
    flow = dense_flow(first, second, {"method": method})
    centre = flow[32:96, 32:96]
    assert np.median(centre[..., 0]) == pytest.approx(2.0, abs=0.4)
    assert np.median(centre[..., 1]) == pytest.approx(-1.0, abs=0.4)


def test_flow_features_shape_and_scaling():
    first = textured()
    features = flow_features(
        first, shifted(first, 2.0, 0.0), {"method": "tvl1", "grid": 16}
    )
    assert features.shape == (4, 16, 16) and features.dtype == np.float32
    u, v, magnitude, strain = features
    assert np.median(u[4:12, 4:12]) == pytest.approx(2.0 * 16 / 128, abs=0.05)
    assert np.median(np.abs(v)) < 0.05
    assert np.all(magnitude >= 0)
    assert np.median(strain[4:12, 4:12]) < 0.05  # a rigid shift has no strain


def test_flow_at_a_smaller_image_size_keeps_grid_units():
    """A 4 px shift of a 256 px crop, flow computed at 128 px: still 4 * 16/256 grid px."""
    first = textured(256)
    params = {"method": "tvl1", "grid": 16}
    full = flow_features(first, shifted(first, 4.0, 0.0), params)
    half = flow_features(
        first, shifted(first, 4.0, 0.0), {**params, "image_size": 128}
    )
    assert np.median(full[0][4:12, 4:12]) == pytest.approx(0.25, abs=0.05)
    assert np.median(half[0][4:12, 4:12]) == pytest.approx(0.25, abs=0.05)


def test_strain_of_a_stretch():
    xs = np.tile(np.arange(32, dtype=np.float32), (32, 1))
    flow = np.stack([0.1 * xs, np.zeros_like(xs)], axis=-1)  # u = 0.1 x: stretch
    assert np.allclose(optical_strain(flow), 0.1, atol=1e-5)


def test_unknown_method():
    with pytest.raises(ValueError, match="tvl1' or 'farneback"):
        dense_flow(textured(), textured(), {"method": "lucas"})
