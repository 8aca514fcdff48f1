"""Item 10's bad inputs: each becomes a reject row or no-face frames with a reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from me_emotion.datasets import HaarCascadeDataset
from me_emotion.datasets.video_files import VideoFilesDataset, VideoProbe, VideoSource
from me_emotion.pipelines.video_analysis.nodes import track_faces
from tests.pipelines.video_analysis.videos import (
    expression_video_frames,
    face_canvas,
    write_video,
)

# the video.haar_cascade catalog entry's cascade
CASCADE = HaarCascadeDataset(cascade="haarcascade_frontalface_default.xml").load()


def _track(folder: Path, params: dict):
    return track_faces(VideoFilesDataset(str(folder)).load(), CASCADE, params)


def _row(index, name: str):
    return index.set_index("video").loc[name]


def test_broken_files_are_rejected_with_reasons_and_the_good_one_goes_on(
    tmp_path, params
):
    write_video(tmp_path / "good.avi", [face_canvas()] * 20, 25.0)
    (tmp_path / "zero.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("definitely not a video\n" * 50)
    (tmp_path / "table.xlsx").write_bytes(b"PK\x03\x04")
    write_video(tmp_path / "one.avi", [face_canvas()], 25.0)
    full = write_video(tmp_path / "cut.mp4", [face_canvas()] * 30, 25.0)
    full.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # moov atom lost
    tracks, index, rejects = _track(tmp_path, params)
    reasons = rejects.set_index("video")["reason"].to_dict()
    assert set(reasons) == {"zero.mp4", "text.mp4", "table.xlsx", "one.avi", "cut.mp4"}
    assert "empty" in reasons["zero.mp4"]
    assert "cannot open" in reasons["text.mp4"] or "no frame" in reasons["text.mp4"]
    assert "not a video extension" in reasons["table.xlsx"]
    assert "too short" in reasons["one.avi"]
    assert _row(index, "good.avi")["status"] == "ok"
    assert tracks[tracks["video"] == "good.avi"]["face"].all()


def test_a_truncated_stream_is_analysed_up_to_the_cut_with_a_note(tmp_path, params):
    full = write_video(tmp_path / "cut.avi", [face_canvas()] * 40, 25.0)
    data = full.read_bytes()
    full.write_bytes(data[: int(len(data) * 0.6)])  # MJPG: frames up to the cut decode
    tracks, index, _ = _track(tmp_path, params)
    row = _row(index, "cut.avi")
    assert row["status"] == "ok"
    assert "truncated" in row["reason"]
    assert 10 < len(tracks) < 40


def test_no_face_at_all(tmp_path, params):
    write_video(tmp_path / "wall.avi", [np.full((120, 160), 90, np.uint8)] * 20, 25.0)
    tracks, index, rejects = _track(tmp_path, params)
    assert _row(index, "wall.avi")["status"] == "no_face"
    assert "no face" in _row(index, "wall.avi")["reason"]
    assert not tracks["face"].any() and rejects.empty


def test_a_face_that_leaves_and_comes_back(tmp_path, params):
    frames = expression_video_frames(25.0, 3.0, [], face_out=(1.0, 2.0))
    write_video(tmp_path / "away.avi", frames, 25.0)
    tracks, index, _ = _track(tmp_path, params)
    face = tracks["face"].to_numpy()
    assert face[:20].all() and not face[27:48].any() and face[-15:].all()
    assert set(tracks.loc[~tracks["face"], "how"]) <= {"face lost", "no face detected"}


def test_a_very_large_video_is_tracked_downscaled_in_frame_pixels(tmp_path, params):
    big = cv2.resize(face_canvas(), (2000, 1600), interpolation=cv2.INTER_LINEAR)
    write_video(tmp_path / "big.avi", [big] * 13, 25.0)
    small = face_canvas()
    write_video(tmp_path / "small.avi", [small] * 13, 25.0)
    tracks, index, _ = _track(tmp_path, params)
    row = _row(index, "big.avi")
    assert row["tracking_scale"] == pytest.approx(640 / 2000)
    assert "tracked at" in row["reason"]
    big_box = tracks[tracks["video"] == "big.avi"].iloc[0]
    small_box = tracks[tracks["video"] == "small.avi"].iloc[0]
    assert big_box["width"] == pytest.approx(small_box["width"] * 10, rel=0.15)


@dataclass(frozen=True)
class VariableRateSource(VideoSource):
    """A face video whose frames come 20 ms or 60 ms apart (a phone's variable rate)."""

    def probe(self) -> VideoProbe:
        return VideoProbe(30.0, 40, 200, 160)

    def frames(self) -> Iterator[tuple[int, float, np.ndarray]]:
        seconds, face = 0.0, face_canvas()
        for index in range(40):
            yield index, seconds, face
            seconds += 0.02 if index % 2 else 0.06


def test_variable_frame_rate_uses_the_timestamps(params):
    source = VariableRateSource("phone.mp4", Path("phone.mp4"), "file")
    tracks, index, _ = track_faces({"phone.mp4": source}, CASCADE, params)
    row = _row(index, "phone.mp4")
    assert row["variable_frame_rate"]
    assert row["fps"] == pytest.approx(25.0, rel=0.05)  # 1 / mean(40 ms)
    assert "variable frame rate" in row["reason"]
    assert tracks["time_s"].iloc[2] == pytest.approx(0.08)
