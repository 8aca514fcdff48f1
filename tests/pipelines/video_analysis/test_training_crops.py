"""Interval crops are made as the training crops are (the face stage's box policy, CLAHE).

One box per interval, from the Haar detector on the onset frame, squared
with the margin; every frame cut with it, resized, CLAHE: the same functions
(``core.face_box``) as the face stage. The ground-truth micro intervals go
through the same path.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from me_emotion.core.crop import square_crop_box
from me_emotion.core.face_box import haar_settings, training_crops
from me_emotion.core.haar import HaarCascade, detect_faces_in, largest_box
from me_emotion.datasets import VideoFilesDataset
from me_emotion.pipelines.video_analysis.nodes import (
    BOX_FROM_DETECTOR,
    BOX_FROM_TRACK,
    extract_interval_crops,
    truth_micro_intervals,
)
from tests.conftest import conf_parameters
from tests.pipelines.video_analysis.videos import expression_video_frames, write_video

FPS = 30.0
# the onset frame is shifted by a few px: a per-frame box would move, the clip's does not
SHIFT_FROM = 20


@pytest.fixture(scope="module")
def cascade() -> HaarCascade:
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    with open(path) as file:  # noqa: PTH123
        return HaarCascade("haarcascade_frontalface_default.xml", file.read())


@pytest.fixture(scope="module")
def face_params() -> dict:
    params = dict(conf_parameters("face_detection", "casme2", "face_detection"))
    params["min_size"] = [60, 60]  # the test face is ~150 px in a 200x160 frame
    params["crop_size"] = 64
    return params


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> tuple[dict, np.ndarray]:
    frames = expression_video_frames(FPS, 2.0, [(0.6, 1.0)])
    for i in range(SHIFT_FROM, len(frames)):
        frames[i] = np.roll(frames[i], 3, axis=1)
    folder = tmp_path_factory.mktemp("crops")
    write_video(folder / "face.avi", frames, FPS)
    videos = VideoFilesDataset(str(folder)).load()
    decoded = np.stack([f for _, _, f in videos["face.avi"].frames()])
    return videos, decoded


def _track(n_frames: int, box=(30, 10, 140, 140)) -> pd.DataFrame:
    x, y, w, h = box
    return pd.DataFrame(
        {
            "video": "face.avi",
            "frame": range(n_frames),
            "time_s": np.arange(n_frames) / FPS,
            "face": True,
            "x": x,
            "y": y,
            "width": w,
            "height": h,
            "how": "detected",
        }
    )


INTERVAL = {
    "video": "face.avi",
    "interval": 0,
    "kind": "micro",
    "onset_frame": 18,
    "apex_frame": 24,
    "offset_frame": 30,
}


def test_the_box_is_the_face_stage_box_of_the_onset_frame(video, cascade, face_params):
    videos, decoded = video
    intervals = pd.DataFrame([INTERVAL])
    crops, truth = extract_interval_crops(
        videos,
        _track(len(decoded)),
        intervals,
        intervals.iloc[:0],
        cascade,
        face_params,
        {"frames_per_interval": 3},
    )
    # by hand: the largest Haar face on the onset frame, squared with the margin
    boxes = detect_faces_in(
        decoded[18],
        cascade.classifier(),
        haar_settings(face_params),
    )
    assert len(boxes)
    expected = square_crop_box(largest_box(boxes), 160, 200, face_params["margin"])
    assert tuple(crops["crop_box"][0]) == expected
    assert crops["box_from"].tolist() == [BOX_FROM_DETECTOR]
    # onset (before the shift) and apex (after it) are cut with that one box
    onset, apex = training_crops(decoded[[18, 24]], expected, face_params)
    np.testing.assert_array_equal(crops["onset"][0], onset)
    np.testing.assert_array_equal(crops["apex"][0], apex)
    np.testing.assert_array_equal(crops["frames"][0, 0], apex)  # apex first
    assert crops["frames"].shape == (1, 3, 64, 64)
    assert len(truth["video"]) == 0


def test_without_a_detected_face_the_track_box_at_the_onset_is_used(
    video, cascade, face_params
):
    videos, decoded = video
    intervals = pd.DataFrame([INTERVAL])
    no_face = {**face_params, "min_size": [1000, 1000]}  # nothing this large
    track = _track(len(decoded), box=(40, 12, 120, 130))
    crops, _ = extract_interval_crops(
        videos,
        track,
        intervals,
        intervals.iloc[:0],
        cascade,
        no_face,
        {"frames_per_interval": 2},
    )
    expected = square_crop_box((40, 12, 120, 130), 160, 200, face_params["margin"])
    assert tuple(crops["crop_box"][0]) == expected
    assert crops["box_from"].tolist() == [BOX_FROM_TRACK]


def test_truth_intervals_are_the_analysed_videos_micro_expressions():
    truth = pd.DataFrame(
        {
            "video": ["a.mp4", "a.mp4", "a.mp4", "gone.mp4"],
            "event": ["micro", "blink", "micro", "micro"],
            "class3": ["positive", "", "negative", "surprise"],
            "onset_frame": [40, 5, 10, 1],
            "apex_frame": [44, 6, 12, 2],
            "offset_frame": [48, 8, 14, 3],
        }
    )
    index = pd.DataFrame(
        {"video": ["clips/a.mp4", "gone.mp4"], "status": ["ok", "no_face"]}
    )
    table = truth_micro_intervals(truth, index)
    assert table["video"].tolist() == ["clips/a.mp4", "clips/a.mp4"]
    assert table["interval"].tolist() == [0, 1]
    assert table["onset_frame"].tolist() == [10, 40]  # in time order
    assert table["class3"].tolist() == ["negative", "positive"]
    assert (table["kind"] == "micro").all()
    assert truth_micro_intervals(truth.iloc[:0], index).empty
