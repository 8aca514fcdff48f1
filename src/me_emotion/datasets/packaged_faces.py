"""Real face photographs, one person each, available without a download.

- ``hopper``: Grace Hopper, official US Navy portrait (public domain), shipped
  by matplotlib as ``mpl-data/sample_data/grace_hopper.jpg``.
- ``astronaut``: Eileen Collins, NASA portrait (public domain), shipped by
  scikit-image as ``skimage.data.astronaut()``.
- the portraits in ``face_photos/`` (this package's data), taken from Debian
  packages; ``face_photos/manifest.json`` records each one's person, source
  package and path, original and shipped sha256, processing and licence
  (docs/synthetic.md, "Photographs"; re-derive with scripts/fetch_face_photos.sh).
"""

from __future__ import annotations

import hashlib
import json
from functools import partial
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


SHIPPED_DIR = Path(__file__).parent / "face_photos"
SHIPPED_MANIFEST = SHIPPED_DIR / "manifest.json"


def shipped_photographs() -> list[dict[str, str]]:
    """The rows of ``face_photos/manifest.json``, in their listed order."""
    return json.loads(SHIPPED_MANIFEST.read_text(encoding="utf-8"))["photographs"]


def _shipped(entry: dict[str, str]) -> np.ndarray:
    path = SHIPPED_DIR / entry["file"]
    data = path.read_bytes() if path.is_file() else b""
    got = hashlib.sha256(data).hexdigest()
    if got != entry["sha256"]:  # a truncated or swapped file would change a person
        raise DatasetError(
            f"face photograph {path} is missing or altered (sha256 {got}, manifest "
            f"{entry['sha256']}); reinstall me_emotion or restore it from git"
        )
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"face photograph {path} is not a readable image")
    return image


PHOTOGRAPHS = {
    "hopper": _hopper,
    "astronaut": _astronaut,
    **{row["name"]: partial(_shipped, row) for row in shipped_photographs()},
}
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
    **{
        row["name"]: {
            "subject": row["subject"],
            "source": (
                f"Debian {row['package']} {row['package_version']}: /{row['path']}"
                + ("" if row["processing"] == "copied" else f" ({row['processing']})")
            ),
            "licence": row["licence"],
        }
        for row in shipped_photographs()
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
