"""Bad files get messages that name the file and say what to do."""

from __future__ import annotations

import pytest
from kedro.io import DatasetError

from me_emotion.datasets import SpreadsheetGridDataset
from me_emotion.datasets.frame_tree import list_frame_tree
from me_emotion.pipelines.data_ingestion.nodes import build_clip_index
from me_emotion.core import vgg16
from tests.pipelines.data_ingestion.releases import (
    CASME2_HEADER,
    touch_frames,
    write_grid,
)

INGESTION = {
    "dataset": "casme2",
    "coding_file": "coding.xlsx",
    "subject_folder": "sub{subject:02d}",
    "class_set": "five",
    "class_sets": {"five": {"happiness": "happiness", "disgust": "disgust"}},
}


@pytest.mark.parametrize(
    ("content", "what"),
    [(b"", "it is empty"), (b"Subject,Filename\n1,EP02_01f\n", "not an .xlsx")],
)
def test_a_coding_file_that_is_not_a_workbook_is_named(tmp_path, content, what):
    path = tmp_path / "CASME2-coding.xlsx"
    path.write_bytes(content)
    with pytest.raises(DatasetError) as error:
        SpreadsheetGridDataset(str(path)).load()
    message = str(error.value)
    assert f"'{path}' is not an Excel workbook" in message and what in message
    assert "engine" not in message  # pandas' advice the user cannot follow


def test_an_empty_clip_folder_is_reported_as_empty(tmp_path):
    root = tmp_path / "frames"
    touch_frames(root / "sub01" / "EP02_01f", ["img46.jpg", "img47.jpg"])
    (root / "sub01" / "EP03_02").mkdir()  # the clip's frames were never copied
    sheet = write_grid(
        tmp_path / "coding.xlsx",
        [
            CASME2_HEADER,
            [1, "EP02_01f", None, 46, 46, 47, None, "4", "disgust", "1"],
            [1, "EP03_02", None, 10, 12, 20, None, "12", "happiness", "1"],
        ],
    )
    grid = SpreadsheetGridDataset(str(sheet)).load()
    _, rejects = build_clip_index(grid, list_frame_tree(root), INGESTION)
    (reason,) = rejects["reason"]
    assert f"clip folder {root}/sub01/EP03_02 is empty" in reason


def test_missing_imagenet_weights_point_at_the_globals(tmp_path, monkeypatch):
    monkeypatch.setattr(vgg16, "keras_cache_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError) as error:
        vgg16.resolve_weights("imagenet")
    message = str(error.value)
    assert "conf/local/globals.yml" in message
    assert "conf/local/parameters.yml" not in message


def test_a_corrupt_weights_file_is_named(tmp_path):
    path = tmp_path / "vgg16_notop.h5"
    path.write_bytes(b"\x89HDF\r\n" + b"\0" * 100)  # a truncated download
    with pytest.raises(ValueError, match="not a readable HDF5") as error:
        vgg16.resolve_weights(str(path))
    assert str(path) in str(error.value)
