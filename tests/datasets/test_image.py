"""OpenCVImageDataset's kedro-viz preview."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from me_emotion.datasets import OpenCVImageDataset


def test_preview_is_the_png_file_in_base64(tmp_path):
    path = tmp_path / "face_contact_sheet.png"
    image = np.arange(48 * 64, dtype=np.uint16).reshape(48, 64).astype(np.uint8)
    dataset = OpenCVImageDataset(str(path))
    dataset.save(image)
    preview = dataset.preview()
    assert base64.b64decode(preview) == path.read_bytes()
    decoded = cv2.imdecode(np.frombuffer(base64.b64decode(preview), np.uint8), -1)
    np.testing.assert_array_equal(decoded, image)


def test_preview_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="sheet.png"):
        OpenCVImageDataset(str(tmp_path / "sheet.png")).preview()
