"""The video dataset: what counts as a video, lazy frames, readable errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError

from me_emotion.datasets.video_files import (
    VideoFilesDataset,
    VideoGroundTruthDataset,
    VideoReadError,
)
from tests.pipelines.video_analysis.videos import write_video


def _frames(n: int) -> list[np.ndarray]:
    return [np.full((48, 64), 10 * i, np.uint8) for i in range(n)]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_video(tmp_path / "a.avi", _frames(5), 25.0)
    frames = tmp_path / "clips" / "b"
    frames.mkdir(parents=True)
    for i in (10, 2, 1):  # unpadded numbers: ordered by value, not by text
        cv2.imwrite(str(frames / f"img{i}.png"), np.full((8, 8), i, np.uint8))
    (tmp_path / "notes.xyz").write_text("not a video")
    (tmp_path / "a.ground_truth.csv").write_text(
        "video,event,onset_frame,apex_frame,offset_frame\na.avi,micro,1,2,3\n"
    )
    return tmp_path


def test_files_frame_folders_and_strangers_are_found(folder):
    videos = VideoFilesDataset(str(folder)).load()
    assert {name: v.kind for name, v in videos.items()} == {
        "a.avi": "file",
        "clips/b": "frames",
        "notes.xyz": "other",
    }


def test_frames_stream_in_order_with_times(folder):
    videos = VideoFilesDataset(str(folder), frames_fps=50).load()
    frames = list(videos["clips/b"].frames())
    assert [int(f[2][0, 0]) for f in frames] == [1, 2, 10]
    assert [f[1] for f in frames] == [0.0, 0.02, 0.04]
    video = list(videos["a.avi"].frames())
    assert len(video) == 5 and video[0][2].shape == (48, 64)
    assert videos["a.avi"].probe().fps == pytest.approx(25.0)


def test_unreadable_things_raise_a_reason(folder):
    videos = VideoFilesDataset(str(folder)).load()
    with pytest.raises(VideoReadError, match="not a video extension"):
        videos["notes.xyz"].probe()
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "text.mp4").write_text("this is not a video " * 100)
    videos = VideoFilesDataset(str(folder)).load()
    with pytest.raises(VideoReadError, match="empty"):
        videos["empty.mp4"].probe()
    with pytest.raises(VideoReadError, match="cannot open|no frame"):
        videos["text.mp4"].probe()


def test_a_file_path_and_a_missing_root(folder):
    videos = VideoFilesDataset([str(folder / "a.avi"), str(folder / "gone.mp4")]).load()
    assert sorted(videos) == ["a.avi", "gone.mp4"]
    with pytest.raises(VideoReadError, match="does not exist"):
        videos["gone.mp4"].probe()
    with pytest.raises(DatasetError, match="video_root"):
        VideoFilesDataset(str(folder / "nowhere")).load()


def test_ground_truth_sidecars_are_concatenated(folder):
    truth = VideoGroundTruthDataset(str(folder)).load()
    assert truth["video"].tolist() == ["a.avi"]
    empty = VideoGroundTruthDataset(str(folder / "clips")).load()
    assert isinstance(empty, pd.DataFrame) and empty.empty and "onset_frame" in empty
