from __future__ import annotations

import numpy as np
import pytest
from kedro.io import DatasetError

from me_emotion.datasets import ClipFrames, ClipFramesDataset


def _clip(crop_box=None) -> ClipFrames:
    frames = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    return ClipFrames(
        frames, np.array([10, 20, 20]), onset=5, apex=20, offset=30, crop_box=crop_box
    )


@pytest.mark.parametrize("crop_box", [None, (1, 2, 30, 30)])
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_keeps_frames_numbers_and_markers(tmp_path, crop_box, compress):
    dataset = ClipFramesDataset(
        str(tmp_path / "sub01/EP02.npz"), save_args={"compress": compress}
    )
    assert not dataset.exists()
    dataset.save(_clip(crop_box))
    loaded = dataset.load()
    assert dataset.exists()
    np.testing.assert_array_equal(loaded.frames, _clip().frames)
    assert loaded.frames.dtype == np.uint8
    assert loaded.frame_numbers.tolist() == [10, 20, 20]
    assert (loaded.onset, loaded.apex, loaded.offset) == (5, 20, 30)
    assert loaded.crop_box == crop_box


def test_stored_frames_are_memory_mapped_read_only(tmp_path):
    dataset = ClipFramesDataset(str(tmp_path / "clip.npz"))
    dataset.save(_clip())
    frames = dataset.load().frames
    assert isinstance(frames, np.memmap)
    assert not frames.flags.writeable


def test_same_clip_gives_the_same_bytes(tmp_path):
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    ClipFramesDataset(str(first)).save(_clip())
    ClipFramesDataset(str(second)).save(_clip())
    assert first.read_bytes() == second.read_bytes()


def test_apex_is_findable_and_a_missing_frame_says_which_strategy_keeps_it():
    clip = _clip()
    assert clip.position(20) == 1  # first of the repeated frame
    np.testing.assert_array_equal(clip.apex_frame, clip.frames[1])
    with pytest.raises(KeyError, match="frame 5 is not among .* onset_apex"):
        clip.position(clip.onset)


@pytest.mark.parametrize(
    ("frames", "numbers", "message"),
    [
        (np.zeros((2, 4, 4), np.float32), [1, 2], "uint8 array"),
        (np.zeros((2, 4, 4, 3), np.uint8), [1, 2], "uint8 array"),
        (np.zeros((2, 4, 4), np.uint8), [1], "one per frame"),
        (np.zeros((2, 4, 4), np.uint8), [2, 1], "time order"),
    ],
)
def test_invalid_clip_frames_are_refused(frames, numbers, message):
    with pytest.raises(ValueError, match=message):
        ClipFrames(frames, np.array(numbers), 1, 1, 2)


def test_unreadable_file_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match=r"broken\.npz.*re-run the pipeline"):
        ClipFramesDataset(str(path)).load()


def test_saving_something_else_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="saves ClipFrames"):
        ClipFramesDataset(str(tmp_path / "x.npz")).save(np.zeros((1, 2, 2), np.uint8))
