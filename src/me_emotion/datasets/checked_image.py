"""A release frame read with OpenCV, refusing truncated JPEG files.

``cv2.imread`` decodes a truncated JPEG without error: libjpeg prints
"Premature end of JPEG file" to stderr and the missing rows come back grey.
A half-copied release would then feed grey faces to the detector without a
word, so this subclass of :class:`OpenCVImageDataset` (the partition type of
``{namespace}.raw_frames``) first checks that a JPEG ends with its
end-of-image marker.
"""

from __future__ import annotations

import numpy as np
from kedro.io import DatasetError

from .image import OpenCVImageDataset

_JPEG_SUFFIXES = {".jpg", ".jpeg"}
_END_OF_IMAGE = b"\xff\xd9"
_TAIL_BYTES = 64
# Some writers pad after the end-of-image marker with zero or 0xFF bytes.
_PADDING = b"\x00\xff"


def jpeg_is_complete(tail: bytes) -> bool:
    """Whether the last bytes of a JPEG file end with its end-of-image marker."""
    return tail.rstrip(_PADDING).endswith(_END_OF_IMAGE)


class CheckedImageDataset(OpenCVImageDataset):
    """:class:`OpenCVImageDataset` that raises on a truncated JPEG file.

    Same arguments as :class:`OpenCVImageDataset`; other formats load unchanged.
    """

    def load(self) -> np.ndarray:
        path = self._filepath
        if path.suffix.lower() in _JPEG_SUFFIXES and path.is_file():
            with path.open("rb") as file:
                file.seek(max(path.stat().st_size - _TAIL_BYTES, 0))
                tail = file.read()
            if not jpeg_is_complete(tail):
                raise DatasetError(
                    f"Frame '{path}' is a truncated JPEG (no end-of-image marker); "
                    "OpenCV would fill the missing part with grey. Re-copy this "
                    "file from the release."
                )
        return super().load()
