from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from kedro.io import DatasetError

from me_emotion.datasets import HaarCascadeDataset

SHIPPED = "haarcascade_frontalface_default.xml"


def test_an_opencv_cascade_by_name_loads_as_plain_data():
    cascade = HaarCascadeDataset(cascade=SHIPPED).load()
    path = Path(cv2.data.haarcascades) / SHIPPED
    assert cascade.identity == [SHIPPED, path.stat().st_size, path.stat().st_mtime_ns]
    copy = pickle.loads(pickle.dumps(cascade))  # crosses to worker processes
    assert copy.xml == cascade.xml


def test_the_classifier_built_in_memory_finds_what_the_file_one_finds():
    """Same detections as OpenCV reading the file itself (same crops downstream)."""
    cascade = HaarCascadeDataset(cascade=SHIPPED).load()
    from_file = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / SHIPPED))
    from_memory = cascade.classifier()
    assert from_memory is not cascade.classifier()  # one per thread
    from skimage import data  # noqa: PLC0415 - a public-domain photograph with a face

    frame = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    found = from_file.detectMultiScale(frame, 1.1, 5, minSize=(60, 60))
    assert len(found) >= 1
    assert np.array_equal(
        np.asarray(found), from_memory.detectMultiScale(frame, 1.1, 5, minSize=(60, 60))
    )


def test_a_cascade_path_is_used(tmp_path):
    path = tmp_path / "mine.xml"
    shutil.copy(Path(cv2.data.haarcascades) / SHIPPED, path)
    dataset = HaarCascadeDataset(cascade=str(path))
    cascade, stamp = dataset.load(), dataset.run_stamp()
    assert cascade.identity[0] == "mine.xml"
    assert not cascade.classifier().empty()
    path.write_text(path.read_text() + "\n")  # IncrementalRunner sees the edit
    assert dataset.run_stamp() != stamp


def test_an_unknown_cascade_lists_opencvs():
    dataset = HaarCascadeDataset(cascade="haarcascade_frontalface_missing.xml")
    assert not dataset.exists()
    with pytest.raises(DatasetError, match="frontalface_alt2"):
        dataset.load()


def test_an_unreadable_cascade_file_is_named(tmp_path):
    broken = tmp_path / "cascade.xml"
    broken.write_text("<opencv_storage></opencv_storage>")
    with pytest.raises(DatasetError, match=r"cascade\.xml' is not a cascade"):
        HaarCascadeDataset(cascade=str(broken)).load()
    broken.write_bytes(b"\xff\xfe not xml")
    with pytest.raises(DatasetError, match="cascade.xml"):
        HaarCascadeDataset(cascade=str(broken)).load()


def test_the_cascade_is_read_only():
    dataset = HaarCascadeDataset(cascade=SHIPPED)
    with pytest.raises(DatasetError, match="read-only"):
        dataset.save(dataset.load())
