from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError

from me_emotion.datasets import (
    FrameTreeDataset,
    OpenCVImageDataset,
    PackagedFacePhotosDataset,
    SpreadsheetGridDataset,
    frame_number,
)


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("img46.jpg", 46),
        ("reg_img46.jpg", 46),
        ("006_05562.jpg", 5562),
        ("006_0980.jpg", 980),
        ("Thumbs.db", None),
        ("cover.jpg", None),
    ],
)
def test_frame_number_from_trailing_digits(name, number):
    assert frame_number(name) == number


def test_frame_tree_lists_frames_and_reports_unnumbered(tmp_path):
    clip = tmp_path / "sub01" / "EP02_01f"
    clip.mkdir(parents=True)
    for name in ["img9.jpg", "img10.jpg", "notes.txt", "poster.png"]:
        (clip / name).write_bytes(b"")
    (tmp_path / "README.txt").write_text("not a subject")
    tree = FrameTreeDataset(path=str(tmp_path)).load()
    assert tree.frames["frame"].tolist() == [9, 10]  # numeric, not lexical, order
    assert tree.unnumbered == ["sub01/EP02_01f/poster.png"]
    assert tree.synthetic_manifest is None


def test_frame_tree_missing_root_gives_the_hint(tmp_path):
    dataset = FrameTreeDataset(
        path=str(tmp_path / "absent"), missing_hint="Set casme2_root."
    )
    with pytest.raises(
        DatasetError, match=r"absent' does not exist\. Set casme2_root\."
    ):
        dataset.load()
    with pytest.raises(DatasetError, match="read-only"):
        dataset.save(pd.DataFrame())


def test_image_round_trip_and_corrupt_file(tmp_path):
    image = (np.arange(48 * 64) % 251).astype(np.uint8).reshape(48, 64)
    png = OpenCVImageDataset(str(tmp_path / "a.png"))
    png.save(image)
    assert np.array_equal(png.load(), image)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(DatasetError, match=r"broken\.jpg.*truncated"):
        OpenCVImageDataset(str(tmp_path / "broken.jpg")).load()


def test_image_grayscale_mode_converts_colour(tmp_path):
    colour = np.zeros((8, 8, 3), np.uint8)
    OpenCVImageDataset(str(tmp_path / "c.png")).save(colour)
    loaded = OpenCVImageDataset(
        str(tmp_path / "c.png"), load_args={"mode": "grayscale"}
    ).load()
    assert loaded.shape == (8, 8)
    with pytest.raises(DatasetError, match="mode must be one of"):
        OpenCVImageDataset(str(tmp_path / "c.png"), load_args={"mode": "rgb"})


def test_spreadsheet_grid_is_byte_reproducible_and_round_trips(tmp_path):
    grid = pd.DataFrame(
        [["Title", None], ["Subject", "Filename"], [6, "006_1_2"]], dtype=object
    )
    first = SpreadsheetGridDataset(str(tmp_path / "a.xlsx"))
    first.save(grid)
    time.sleep(1.1)  # openpyxl stamps the save time; it must not reach the bytes
    SpreadsheetGridDataset(str(tmp_path / "b.xlsx")).save(grid)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    loaded = first.load()
    assert loaded.iloc[1].tolist() == ["Subject", "Filename"] and loaded.iloc[2, 0] == 6
    assert pd.isna(loaded.iloc[0, 1])


def test_packaged_photographs_are_real_colour_images():
    photos = PackagedFacePhotosDataset().load()
    assert set(photos) >= {"hopper", "astronaut", "barkla", "curie", "stillman"}
    assert len(photos) == 12
    assert all(
        p.ndim == 3 and p.dtype == np.uint8 and min(p.shape[:2]) >= 180
        for p in photos.values()
    )
    with pytest.raises(DatasetError, match="Unknown packaged photographs"):
        PackagedFacePhotosDataset(photos=["lena"])
