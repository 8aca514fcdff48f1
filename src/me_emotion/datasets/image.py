"""A single image file read and written with OpenCV (numpy arrays, BGR order)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from kedro.io import AbstractDataset, DatasetError
from kedro_datasets._typing import ImagePreview

_READ_MODES = {
    "unchanged": cv2.IMREAD_UNCHANGED,
    "color": cv2.IMREAD_COLOR,
    "grayscale": cv2.IMREAD_GRAYSCALE,
}


class OpenCVImageDataset(AbstractDataset[np.ndarray, np.ndarray]):
    """Image file <-> ``uint8`` numpy array via ``cv2.imread``/``cv2.imencode``.

    Used as the partition type of ``PartitionedDataset`` for frame folders.
    ``cv2`` encoding is deterministic, so the same array gives the same bytes.

    Args:
        filepath: image file path; its suffix picks the codec.
        load_args: ``mode``: ``unchanged`` (default), ``color`` or ``grayscale``.
        save_args: ``jpeg_quality`` (default 95) for JPEG files.
    """

    def __init__(
        self,
        filepath: str,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        self._filepath = Path(filepath)
        self._mode = (load_args or {}).get("mode", "unchanged")
        if self._mode not in _READ_MODES:
            raise DatasetError(
                f"OpenCVImageDataset mode must be one of {sorted(_READ_MODES)}, "
                f"got '{self._mode}'"
            )
        self._jpeg_quality = int((save_args or {}).get("jpeg_quality", 95))
        self.metadata = metadata

    def load(self) -> np.ndarray:
        image = cv2.imread(str(self._filepath), _READ_MODES[self._mode])
        if image is None:
            raise DatasetError(
                f"Cannot decode image '{self._filepath}': the file is missing, "
                "truncated or not an image. Re-copy it from the release."
            )
        return image

    def save(self, data: np.ndarray) -> None:
        params = []
        if self._filepath.suffix.lower() in {".jpg", ".jpeg"}:
            params = [cv2.IMWRITE_JPEG_QUALITY, self._jpeg_quality]
        ok, encoded = cv2.imencode(self._filepath.suffix, np.asarray(data), params)
        if not ok:
            raise DatasetError(f"OpenCV could not encode '{self._filepath}'")
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        self._filepath.write_bytes(encoded.tobytes())

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def preview(self) -> ImagePreview:
        """The file as base64 text: kedro-viz shows it in the dataset's side panel."""
        return ImagePreview(
            base64.b64encode(self._filepath.read_bytes()).decode("ascii")
        )

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "mode": self._mode}
