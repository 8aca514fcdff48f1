"""VideoFolderWriterDataset: streamed writing, parallel workers, clear errors."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest
from kedro.io import DatasetError

from me_emotion.datasets.video_writer import VideoFolderWriterDataset


@dataclass
class Ramp:
    """Frames whose grey level rises by 20 per frame; optionally lies about its length."""

    fps: float = 25.0
    frame_size: tuple[int, int] = (64, 48)
    frame_count: int = 6
    produced: int | None = None

    def frames(self):
        width, height = self.frame_size
        for n in range(
            self.produced if self.produced is not None else self.frame_count
        ):
            yield np.full((height, width, 3), 20 * n, dtype=np.uint8)


def read_levels(path) -> list[float]:
    capture = cv2.VideoCapture(str(path))
    levels = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        levels.append(float(frame.mean()))
    capture.release()
    return levels


@pytest.mark.parametrize("workers", [1, 2])
def test_videos_are_written_frame_by_frame(tmp_path, workers):
    dataset = VideoFolderWriterDataset(str(tmp_path / "videos"), workers=workers)
    dataset.save({"a.mp4": Ramp(), "b.avi": Ramp(fps=200.0, frame_count=4)})
    loaded = dataset.load()
    assert sorted(loaded) == ["a.mp4", "b.avi"]
    levels = read_levels(loaded["a.mp4"])
    assert len(levels) == 6
    assert levels == pytest.approx([20 * n for n in range(6)], abs=8)  # lossy mp4v
    capture = cv2.VideoCapture(str(loaded["b.avi"]))
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(200.0)
    capture.release()


def test_stale_videos_and_their_sidecars_are_removed(tmp_path):
    folder = tmp_path / "videos"
    dataset = VideoFolderWriterDataset(str(folder), workers=1)
    dataset.save({"old.mp4": Ramp()})
    (folder / "old.ground_truth.csv").write_text("video\nold.mp4\n")
    (folder / "gone.ground_truth.csv").write_text("video\ngone.mp4\n")  # orphan
    (folder / "new.ground_truth.csv").write_text("video\nnew.mp4\n")
    dataset.save({"new.mp4": Ramp()})
    assert sorted(p.name for p in folder.iterdir()) == [
        "new.ground_truth.csv",
        "new.mp4",
    ]


def test_a_source_that_lies_about_its_length_leaves_no_file(tmp_path):
    dataset = VideoFolderWriterDataset(str(tmp_path), workers=1)
    with pytest.raises(DatasetError, match="got 3 frames"):
        dataset.save({"short.mp4": Ramp(produced=3)})
    assert not list(tmp_path.iterdir())


def test_wrong_frame_shape_and_extension_raise(tmp_path):
    dataset = VideoFolderWriterDataset(str(tmp_path), workers=1)
    with pytest.raises(DatasetError, match="expected"):
        dataset.save({"odd.mp4": _Wrong()})
    with pytest.raises(DatasetError, match="extensions"):
        dataset.save({"clip.gif": Ramp()})


class _Wrong(Ramp):
    def frames(self):
        yield np.zeros((10, 10, 3), dtype=np.uint8)


def test_loading_an_empty_folder_says_what_to_run(tmp_path):
    with pytest.raises(DatasetError, match="synthetic_videos"):
        VideoFolderWriterDataset(str(tmp_path)).load()
