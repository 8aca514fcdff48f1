"""Real face photographs that ship inside installed packages (no download).

- ``hopper``: Grace Hopper, official US Navy portrait (public domain), shipped
  by matplotlib as ``mpl-data/sample_data/grace_hopper.jpg``.
- ``astronaut``: Eileen Collins, NASA portrait (public domain), shipped by
  scikit-image as ``skimage.data.astronaut()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
from kedro.io import AbstractDataset, DatasetError


def _hopper() -> np.ndarray:
    import matplotlib  # noqa: PLC0415

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"matplotlib's sample photograph is missing: {path}")
    return image


def _astronaut() -> np.ndarray:
    from skimage import data  # noqa: PLC0415

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


PHOTOGRAPHS = {"hopper": _hopper, "astronaut": _astronaut}
PHOTO_CREDITS = {
    "hopper": {
        "subject": "Grace Hopper",
        "source": "matplotlib: mpl-data/sample_data/grace_hopper.jpg",
        "licence": "public domain (US Navy official portrait)",
    },
    "astronaut": {
        "subject": "Eileen Collins",
        "source": "scikit-image: skimage.data.astronaut()",
        "licence": "public domain (NASA portrait)",
    },
}


class PackagedFacePhotosDataset(AbstractDataset[None, dict[str, np.ndarray]]):
    """Loads the bundled face photographs as ``{name: BGR uint8 array}``.

    Args:
        photos: which photographs to load (default: all of ``PHOTOGRAPHS``).
    """

    def __init__(
        self, photos: list[str] | None = None, metadata: dict[str, Any] | None = None
    ):
        unknown = set(photos or []) - set(PHOTOGRAPHS)
        if unknown:
            raise DatasetError(
                f"Unknown packaged photographs {sorted(unknown)}; "
                f"available: {sorted(PHOTOGRAPHS)}"
            )
        self._photos = list(photos or PHOTOGRAPHS)
        self.metadata = metadata

    def load(self) -> dict[str, np.ndarray]:
        return {name: PHOTOGRAPHS[name]() for name in self._photos}

    def save(self, data: None) -> None:
        raise DatasetError("PackagedFacePhotosDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"photos": self._photos}
