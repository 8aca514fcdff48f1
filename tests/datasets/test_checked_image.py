from __future__ import annotations

import cv2
import numpy as np
import pytest
from kedro.io import DatasetError

from me_emotion.datasets import CheckedImageDataset, OpenCVImageDataset
from me_emotion.datasets.checked_image import jpeg_is_complete


@pytest.fixture
def face_jpeg(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (240, 320), dtype=np.uint8)
    path = tmp_path / "img46.jpg"
    OpenCVImageDataset(str(path)).save(cv2.merge([image, image[::-1], image]))
    return path


def test_complete_jpeg_loads_like_opencv(face_jpeg):
    checked = CheckedImageDataset(
        str(face_jpeg), load_args={"mode": "grayscale"}
    ).load()
    plain = OpenCVImageDataset(str(face_jpeg), load_args={"mode": "grayscale"}).load()
    np.testing.assert_array_equal(checked, plain)


def test_truncated_jpeg_is_an_error_naming_the_file(face_jpeg):
    face_jpeg.write_bytes(face_jpeg.read_bytes()[: face_jpeg.stat().st_size // 2])
    # The reason for this dataset: OpenCV itself decodes the half file silently.
    assert OpenCVImageDataset(str(face_jpeg)).load() is not None
    with pytest.raises(DatasetError, match=r"img46\.jpg' is a truncated JPEG.*Re-copy"):
        CheckedImageDataset(str(face_jpeg)).load()


def test_garbage_file_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "img7.jpg"
    path.write_bytes(b"\xff\xd8 not really a jpeg \xff\xd9")
    with pytest.raises(DatasetError, match=r"img7\.jpg"):
        CheckedImageDataset(str(path)).load()


@pytest.mark.parametrize(
    ("tail", "complete"),
    [
        (b"..\xff\xd9", True),
        (b"..\xff\xd9\x00\x00", True),
        (b"..\xff\xd9\xff", True),
        (b"..\x12\x34", False),
    ],
)
def test_end_of_image_marker_allows_padding(tail, complete):
    assert jpeg_is_complete(tail) is complete
