from __future__ import annotations

import logging

import cv2
import numpy as np
import pandas as pd
import pytest

from me_emotion.core.clahe import apply_clahe
from me_emotion.core.crop import crop_and_resize, square_crop_box
from me_emotion.core.haar import positions_to_try
from me_emotion.datasets import HaarCascadeDataset
from me_emotion.pipelines.face_detection.nodes import (
    BOX_COLUMNS,
    REJECT_COLUMNS,
    crop_faces,
    detect_faces,
    draw_contact_sheet,
)

from .conftest import CASCADE, clip_of, index_of, lazy


def _noise(seed: int = 0, shape=(300, 256)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _stage(clips, params, labels=None):
    index = index_of(clips, labels)
    boxes, rejects = detect_faces(index, lazy(clips), CASCADE, params)
    crops = {
        key: make() for key, make in crop_faces(lazy(clips), boxes, params).items()
    }
    return boxes, rejects, crops


def test_face_clip_gives_a_box_and_256_uint8_crops_of_every_frame(face, params):
    clips = {"sub01/EP02_01f": clip_of([face, face, face], apex_position=1)}
    boxes, rejects, crops = _stage(clips, params)
    assert list(boxes.columns) == BOX_COLUMNS and rejects.empty
    box = boxes.iloc[0]
    assert (box.detected_on_frame, box.frames_tried, box.n_faces) == (100, 1, 1)
    assert 90 < box.face_w < 150  # Hopper's face, not the whole frame
    assert box.crop_w == box.crop_h == round(box.face_w * 1.2)
    crop = crops["sub01/EP02_01f"]
    assert crop.frames.shape == (3, 256, 256) and crop.frames.dtype == np.uint8
    assert crop.frame_numbers.tolist() == [100, 101, 102]
    assert crop.apex == 101 and crop.position(crop.apex) == 1
    assert crop.crop_box == (box.crop_x, box.crop_y, box.crop_w, box.crop_h)


def test_frame_without_a_face_is_a_reject_row_not_a_crash(face, params):
    clips = {
        "sub01/face": clip_of([face]),
        "sub01/noface": clip_of([_noise(1), _noise(2), _noise(2)]),
    }
    boxes, rejects, crops = _stage(clips, params)
    assert boxes["partition"].tolist() == ["sub01/face"]
    assert list(rejects.columns) == REJECT_COLUMNS
    reject = rejects.iloc[0]
    assert reject.partition == "sub01/noface"
    assert reject.frames_tried == 3
    assert "no face found" in reject.reason and "min_neighbors" in reject.reason
    assert list(crops) == ["sub01/face"]


def test_empty_clip_is_a_reject_row(face, params):
    clips = {"sub01/face": clip_of([face]), "sub02/empty": clip_of([])}
    boxes, rejects, _ = _stage(clips, params)
    assert rejects["partition"].tolist() == ["sub02/empty"]
    assert "no sampled frames" in rejects["reason"].iloc[0]


def test_no_face_on_the_onset_frame_tries_the_next_frames(face, params):
    clips = {"sub01/late": clip_of([_noise(3), _noise(4), face, face], apex_position=3)}
    boxes, rejects, crops = _stage(clips, params)
    assert boxes.iloc[0].detected_on_frame == 102
    assert boxes.iloc[0].frames_tried == 3
    # the two faceless frames leave the clip, one reject row each
    assert list(boxes.iloc[0].dropped_frames) == [100, 101]
    assert rejects["frame"].tolist() == [100, 101]
    assert crops["sub01/late"].frame_numbers.tolist() == [102, 103]


def test_several_faces_keep_the_largest_and_log_it(face, params, caplog):
    small = cv2.resize(face, (128, 150), interpolation=cv2.INTER_AREA)
    frame = np.full((300, 420), 128, np.uint8)
    frame[:, :256] = face
    frame[60:210, 280:408] = small
    with caplog.at_level(logging.INFO):
        boxes, _, _ = _stage({"sub01/two": clip_of([frame])}, params)
    box = boxes.iloc[0]
    assert box.n_faces == 2
    assert box.face_x < 256  # the big face on the left
    assert "2 faces on frame 100, kept the largest" in caplog.text


def test_whole_frame_detector_crops_the_whole_frame(face, params):
    boxes, rejects, crops = _stage(
        {"sub01/cropped": clip_of([face, face])}, {**params, "detector": "whole_frame"}
    )
    assert rejects.empty
    crop_box = ["crop_x", "crop_y", "crop_w", "crop_h"]
    assert boxes.iloc[0][crop_box].tolist() == [0, 0, 256, 300]
    assert crops["sub01/cropped"].frames.shape == (2, 256, 256)


def test_results_do_not_depend_on_threads_or_repetition(face, params):
    shifted = np.roll(face, 9, axis=1)
    clips = {
        f"sub0{i}/c{i}": clip_of([shifted if i % 2 else face, face]) for i in range(6)
    }
    clips["sub09/noface"] = clip_of([_noise(5)])
    one = _stage(clips, {**params, "workers": 1})
    two = _stage(clips, {**params, "workers": 2})
    again = _stage(clips, {**params, "workers": 2})
    for other in (two, again):
        pd.testing.assert_frame_equal(one[0], other[0])
        pd.testing.assert_frame_equal(one[1], other[1])
        for key, crop in one[2].items():
            np.testing.assert_array_equal(crop.frames, other[2][key].frames)


def test_clahe_raises_the_contrast_of_a_flat_crop():
    rng = np.random.default_rng(0)
    flat = 120 + 10 * np.sin(np.arange(256) / 9)[None, :] + rng.normal(0, 2, (256, 256))
    crops = np.clip(flat, 0, 255).astype(np.uint8)[None]
    mild = apply_clahe(crops, clip_limit=1.0, tile_grid_size=(8, 8))
    strong = apply_clahe(crops, clip_limit=4.0, tile_grid_size=(8, 8))
    assert mild.shape == crops.shape and mild.dtype == np.uint8
    assert crops.std() < mild.std() < strong.std()


def test_crop_box_is_square_with_margin_and_shifted_inside_the_frame():
    vga = (480, 640)
    assert square_crop_box((100, 100, 100, 100), *vga, 0.1) == (90, 90, 120, 120)
    assert square_crop_box((0, 0, 100, 100), *vga, 0.1) == (0, 0, 120, 120)  # shifted
    assert square_crop_box((560, 400, 80, 80), *vga, 0.5) == (480, 320, 160, 160)
    # Larger than the frame: cut to its height, still centred on the face.
    assert square_crop_box((0, 0, 300, 300), 200, 640, 0.1) == (50, 0, 200, 200)


def test_crop_and_resize_of_a_box():
    frames = np.arange(2 * 20 * 30, dtype=np.uint8).reshape(2, 20, 30)
    crops = crop_and_resize(frames, (5, 2, 10, 10), 10)
    np.testing.assert_array_equal(crops, frames[:, 2:12, 5:15])


@pytest.mark.parametrize(
    ("numbers", "max_frames", "expected"),
    [
        ([10, 10, 15, 35, 55], 5, [0, 2, 3, 4]),  # a repeated (clamped) frame once
        (list(range(100, 140)), 3, [0, 20, 39]),  # spread over the clip
    ],
)
def test_frames_tried_start_at_the_first_and_spread(numbers, max_frames, expected):
    assert positions_to_try(np.array(numbers), max_frames) == expected


def test_contact_sheet_is_a_colour_image_with_a_row_per_class(face, params):
    clips = {
        "sub01/a": clip_of([face]),
        "sub02/b": clip_of([face]),
        "sub03/c": clip_of([face]),
    }
    boxes, rejects, crops = _stage(
        clips, params, labels=["happiness", "surprise", None]
    )
    sheet = draw_contact_sheet(lazy(crops), boxes, rejects, params)
    tile = params["contact_sheet"]["tile_px"]
    assert sheet.dtype == np.uint8 and sheet.ndim == 3 and sheet.shape[2] == 3
    assert sheet.shape[0] > 3 * tile  # happiness, surprise, then (fear) without a label


def test_contact_sheet_without_any_face_is_still_drawn(params):
    boxes = pd.DataFrame(columns=BOX_COLUMNS)
    rejects = pd.DataFrame(
        [{"dataset": "casme2", "partition": "sub01/a"}], columns=REJECT_COLUMNS
    )
    sheet = draw_contact_sheet({}, boxes, rejects, params)
    assert sheet.ndim == 3


def test_sampled_frames_changed_since_detection_are_refused(face, params):
    clips = {"sub01/a": clip_of([face])}
    boxes, _ = detect_faces(index_of(clips), lazy(clips), CASCADE, params)
    clips["sub01/a"] = clip_of([face[:200]])
    with pytest.raises(ValueError, match="re-run the face stage"):
        crop_faces(lazy(clips), boxes, params)["sub01/a"]()


def test_detection_uses_the_given_cascade_and_reads_no_file(face, params, monkeypatch):
    import builtins  # noqa: PLC0415
    import pathlib  # noqa: PLC0415

    def no_files(*args, **kwargs):
        raise AssertionError(f"a node opened a file: {args[:1]}")

    clips = {"sub01/a": clip_of([face])}
    expected, _ = detect_faces(index_of(clips), lazy(clips), CASCADE, params)
    monkeypatch.setattr(builtins, "open", no_files)
    monkeypatch.setattr(pathlib.Path, "read_text", no_files)
    monkeypatch.setattr(
        cv2, "CascadeClassifier", _in_memory_only(cv2.CascadeClassifier)
    )
    boxes, _ = detect_faces(index_of(clips), lazy(clips), CASCADE, params)
    monkeypatch.undo()
    assert boxes.equals(expected) and len(boxes) == 1
    # a cascade that finds no face (eyes at a 100 px minimum) gives a reject row
    eyes = HaarCascadeDataset(cascade="haarcascade_eye.xml").load()
    boxes, rejects = detect_faces(index_of(clips), lazy(clips), eyes, params)
    assert boxes.empty and "no face found" in rejects["reason"].iloc[0]


def _in_memory_only(opencv_class):
    """``cv2.CascadeClassifier`` that refuses a file name (reading one is I/O)."""

    def make(*args):
        if args:
            raise AssertionError(f"a node read the cascade file {args[0]}")
        return opencv_class()

    return make


def test_clip_without_sampled_frames_is_an_error(face, params):
    clips = {"sub01/a": clip_of([face])}
    with pytest.raises(ValueError, match="no sampled frames"):
        detect_faces(index_of(clips), {}, CASCADE, params)
