"""No artefacts: an interval comes from facial motion only.

A still face must give no interval when its track starts mid-video, when it
leaves and comes back, or when the detector's box jumps; the same clip with an
expression must give one (so "nothing" is not the only answer). The project's
own tracking and spotting parameters (conf/base/parameters_video.yml).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from me_emotion.datasets import HaarCascadeDataset
from me_emotion.datasets.video_files import VideoFilesDataset
from me_emotion.pipelines.video_analysis import nodes
from me_emotion.pipelines.video_analysis.spotting import despike, spot_video
from tests.conftest import conf_parameters
from tests.pipelines.video_analysis.videos import expression_video_frames, write_video

CASCADE = HaarCascadeDataset(cascade="haarcascade_frontalface_default.xml").load()
FPS = 30.0
SPOTTING = conf_parameters("video", "video", "spotting")


def _spot(folder: Path, tracking: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    videos = VideoFilesDataset(str(folder)).load()
    tracks, index, _ = nodes.track_faces(videos, CASCADE, tracking)
    signals = nodes.compute_spotting_signals(videos, tracks, index, SPOTTING)
    return nodes.spot_intervals(signals, index, SPOTTING), tracks


def _clip(tmp_path: Path, name: str, **kwargs) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    write_video(folder / f"{name}.avi", expression_video_frames(FPS, **kwargs), FPS)
    return folder


@pytest.mark.parametrize(
    ("name", "face_out"),
    [("enters", (0.0, 1.5)), ("leaves_and_returns", (1.5, 2.5))],
)
def test_a_still_face_whose_track_starts_mid_video_gives_no_interval(
    tmp_path, params, name, face_out
):
    folder = _clip(tmp_path, name, seconds=5.0, events=[], face_out=face_out)
    intervals, tracks = _spot(folder, params)
    face = tracks["face"].to_numpy()
    first = int(face_out[0] * FPS) if face_out[0] else 0
    assert not face[first + 2 : int(face_out[1] * FPS) - 2].any()  # the face was gone
    assert face[int(face_out[1] * FPS) + 2 :].all()  # and was tracked again
    assert intervals.empty, intervals[["onset_frame", "apex_frame", "offset_frame"]]


def test_the_same_clip_with_an_expression_spots_it(tmp_path, params):
    folder = _clip(
        tmp_path, "expression", seconds=5.0, events=[(3.3, 3.6)], face_out=(0.0, 1.5)
    )
    intervals, _ = _spot(folder, params)
    assert len(intervals) == 1
    assert 3.3 * FPS <= intervals["apex_frame"].iloc[0] <= 3.6 * FPS


class JumpingDetector:
    """The real detector, but every other detection's box is moved and enlarged."""

    def __init__(self, detector):
        self.detector = detector
        self.calls = 0

    def detect(self, frame: np.ndarray):
        found = self.detector.detect(frame)
        self.calls += 1
        if found is None or self.calls % 2:
            return found
        x, y, w, h = found
        return (x + 0.3 * w, y - 0.2 * h, 1.3 * w, 1.3 * h)  # IoU < 0.5: adopted


def test_a_detector_box_jump_gives_no_interval(tmp_path, params, monkeypatch):
    real = nodes.make_detector
    detectors = []

    def jumping(tracking, cascade):
        detectors.append(JumpingDetector(real(tracking, cascade)))
        return detectors[-1]

    monkeypatch.setattr(nodes, "make_detector", jumping)
    folder = _clip(tmp_path, "jumps", seconds=5.0, events=[])
    intervals, tracks = _spot(folder, {**params, "redetect_every_s": 0.4})
    widths = tracks["width"].to_numpy(float)
    assert detectors[0].calls >= 10 and widths.max() > 1.1 * widths.min()  # it jumped
    assert intervals.empty, intervals[["onset_frame", "apex_frame", "offset_frame"]]


def test_a_one_frame_spike_is_no_interval_and_none_is_shorter_than_three_frames():
    rng = np.random.default_rng(3)
    n, fps = 720, 24.0
    micro = rng.uniform(0.0, 0.03, n)
    micro[100] = micro[400] = 1.0  # single-frame glitches
    micro[600:606] += np.array([0.3, 0.7, 1.0, 0.9, 0.5, 0.2])  # a real bump
    table = spot_video(
        pd.DataFrame(
            {
                "frame": np.arange(n),
                "time_s": np.arange(n) / fps,
                "signal_micro": micro,
                "signal_macro": np.zeros(n),
            }
        ),
        fps,
        SPOTTING,
    )
    assert len(table) == 1 and 601 <= table["apex_frame"].iloc[0] <= 603  # the bump
    assert (table["offset_frame"] - table["onset_frame"] + 1 >= 3).all()


def test_despike_removes_one_frame_spikes_and_keeps_wider_bumps():
    signal = np.array([0.0, 0.0, 5.0, 0.0, 0.0, 2.0, 3.0, 2.0, 0.0, np.nan, 0.0])
    out = despike(signal, 3)
    assert out[2] == 0.0  # median of 0, 5, 0
    assert out[6] == 2.0 and out[5] == 2.0  # the 3-frame bump stays
    assert np.isnan(out[9]) and out[10] == 0.0  # missing stays missing
