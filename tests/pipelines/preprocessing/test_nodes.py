from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError
from kedro_datasets.partitions import PartitionedDataset

from me_emotion.datasets import OpenCVImageDataset
from me_emotion.pipelines.preprocessing.grayscale import to_gray_uint8
from me_emotion.pipelines.preprocessing.nodes import sample_flow_frames, sample_frames
from tests.conftest import conf_parameters

PARAMS = conf_parameters("preprocessing", "casme2", "preprocessing")


def _clip_index(onset: int = 100, apex: int = 105, offset: int = 140) -> pd.DataFrame:
    files = [f"img{n}.jpg" for n in range(onset, offset + 1)]
    return pd.DataFrame(
        [
            {
                "dataset": "casme2",
                "subject": "sub01",
                "clip": "EP02_01f",
                "onset": onset,
                "apex": apex,
                "offset": offset,
                "frame_files": files,
            }
        ]
    )


class FakeFrames(dict):
    """``{key: load}`` like a PartitionedDataset; each frame's pixels = its number."""

    def __init__(self, index: pd.DataFrame, shape=(6, 8), colour: bool = False):
        super().__init__()
        self.loads: list[str] = []
        for row in index.itertuples():
            for name in row.frame_files:
                key = f"{row.subject}/{row.clip}/{name}"
                number = int(Path(name).stem[3:])
                self[key] = lambda key=key, number=number: self._load(
                    key, number, shape, colour
                )

    def _load(self, key, number, shape, colour):
        self.loads.append(key)
        image = np.full(shape, number % 256, np.uint8)
        return cv2.merge([image, image, image]) if colour else image


@pytest.mark.parametrize(
    ("strategy", "numbers"),
    [
        ("paper", [100, 105, 125, 140]),
        ("onset_apex", [100, 105]),
        ("onset_apex_offset", [100, 105, 140]),
        ("all", list(range(100, 141))),
    ],
)
def test_sampled_clip_holds_the_chosen_frames_in_order(strategy, numbers):
    index = _clip_index()
    raw = FakeFrames(index)
    clips = sample_frames(index, raw, {**PARAMS, "strategy": strategy})
    assert list(clips) == ["sub01/EP02_01f"]
    assert raw.loads == []  # nothing decoded until the partition is saved
    clip = clips["sub01/EP02_01f"]()
    assert clip.frames.shape == (len(numbers), 6, 8)
    assert clip.frames.dtype == np.uint8
    assert clip.frame_numbers.tolist() == numbers
    assert clip.frames[:, 0, 0].tolist() == numbers  # each frame is the right file
    assert (clip.onset, clip.apex, clip.offset) == (100, 105, 140)
    assert len(raw.loads) == len(numbers)  # each frame decoded once


def test_flow_frames_are_the_annotated_onset_and_apex_whatever_the_strategy():
    index = _clip_index(onset=100, apex=150, offset=220)
    raw = FakeFrames(index)
    sampled = sample_frames(index, raw, {**PARAMS, "strategy": "paper"})
    assert 100 not in sampled["sub01/EP02_01f"]().frame_numbers  # window 110..190
    flow = sample_flow_frames(index, raw, {**PARAMS, "strategy": "paper"})
    clip = flow["sub01/EP02_01f"]()
    assert clip.frame_numbers.tolist() == [100, 110, 130, 150]
    assert clip.frames[:, 0, 0].tolist() == [100, 110, 130, 150]  # the right files
    assert clip.frames[clip.position(clip.onset), 0, 0] == 100


def test_colour_and_grayscale_frames_give_the_same_grayscale_stack():
    index = _clip_index()
    grey = sample_frames(index, FakeFrames(index), PARAMS)["sub01/EP02_01f"]()
    colour = sample_frames(index, FakeFrames(index, colour=True), PARAMS)[
        "sub01/EP02_01f"
    ]()
    np.testing.assert_array_equal(grey.frames, colour.frames)


def test_empty_clip_folder_is_a_clear_error_before_any_decoding():
    index = _clip_index()
    raw = FakeFrames(index)
    for key in [k for k in raw if k.startswith("sub01/EP02_01f/")]:
        del raw[key]
    with pytest.raises(
        ValueError, match=r"sub01/EP02_01f/img100\.jpg.*frame_tree point at"
    ):
        sample_frames(index, raw, PARAMS)


def test_truncated_jpeg_in_the_release_is_an_error_naming_the_file(tmp_path):
    index = _clip_index(onset=1, apex=2, offset=3)
    folder = tmp_path / "sub01/EP02_01f"
    noise = np.random.default_rng(0).integers(0, 256, (120, 160), dtype=np.uint8)
    for name in index["frame_files"][0]:
        OpenCVImageDataset(str(folder / name)).save(noise)
    broken = folder / "img2.jpg"
    broken.write_bytes(broken.read_bytes()[:2000])
    raw_frames = PartitionedDataset(  # as catalog_frames_faces.yml declares it
        path=str(tmp_path),
        dataset={
            "type": "me_emotion.datasets.CheckedImageDataset",
            "load_args": {"mode": "grayscale"},
        },
    ).load()
    clips = sample_frames(index, raw_frames, {**PARAMS, "strategy": "all"})
    with pytest.raises(DatasetError, match=r"img2\.jpg' is a truncated JPEG"):
        clips["sub01/EP02_01f"]()


def test_frames_of_different_sizes_are_refused():
    index = _clip_index()
    raw = FakeFrames(index)
    raw["sub01/EP02_01f/img105.jpg"] = lambda: np.zeros((3, 3), np.uint8)
    with pytest.raises(ValueError, match="differ in size"):
        sample_frames(index, raw, PARAMS)["sub01/EP02_01f"]()


def test_empty_clip_index_points_at_the_ingestion_rejects():
    index = _clip_index().iloc[:0]
    with pytest.raises(ValueError, match="ingestion_rejects"):
        sample_frames(index, {}, PARAMS)


@pytest.mark.parametrize(
    "image",
    [
        np.full((4, 5, 1), 7, np.uint8),
        np.full((4, 5, 4), 7, np.uint8),
        np.full((4, 5), 7 * 256 + 200, np.uint16),
    ],
)
def test_any_decoded_frame_becomes_8_bit_grayscale(image):
    grey = to_gray_uint8(image, "f.png")
    assert grey.shape == (4, 5) and grey.dtype == np.uint8
    assert grey[0, 0] == 7


def test_an_unusable_array_names_its_source():
    with pytest.raises(ValueError, match="'img9.jpg'"):
        to_gray_uint8(np.zeros((4, 5), np.float32), "img9.jpg")
