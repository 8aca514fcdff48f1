"""A black frame inside a clip leaves the clip (a reject row) and never starts its flow."""

from __future__ import annotations

import numpy as np
import pytest

from me_emotion.datasets import ClipFrames, HaarCascadeDataset
from me_emotion.pipelines.face_detection.nodes import crop_faces, detect_faces
from me_emotion.pipelines.feature_extraction.nodes import extract_flow_features
from tests.conftest import conf_parameters

CASCADE = HaarCascadeDataset(cascade="haarcascade_frontalface_default.xml").load()


@pytest.fixture
def face_params() -> dict:
    return {
        **conf_parameters("face_detection", "casme2", "face_detection"),
        "min_size": [40, 40],
        "workers": 1,
    }


def _clip_index(keys):
    import pandas as pd  # noqa: PLC0415

    return pd.DataFrame(
        [
            {
                "dataset": "casme2",
                "subject": key.split("/")[0],
                "clip": key.split("/")[1],
                "label": "happiness",
                "emotion": "happiness",
            }
            for key in keys
        ]
    )


def _clip(frames, apex_position):
    numbers = np.arange(100, 100 + len(frames), dtype=np.int64)
    return ClipFrames(
        np.stack(frames), numbers, 100, int(numbers[apex_position]), int(numbers[-1])
    )


def test_black_first_frame_is_dropped_and_the_flow_starts_after_it(face, face_params):
    black = np.zeros_like(face)
    shifted = np.roll(face, 2, axis=1)  # a little motion towards the apex
    clips = {
        "sub01/black_first": _clip([black, face, shifted, shifted], apex_position=2),
        "sub01/clean": _clip([face, face, shifted], apex_position=2),
    }
    lazy = {key: (lambda clip=clip: clip) for key, clip in clips.items()}
    boxes, rejects = detect_faces(_clip_index(clips), lazy, CASCADE, face_params)

    assert sorted(boxes["partition"]) == ["sub01/black_first", "sub01/clean"]
    (row,) = rejects.itertuples(index=False)
    assert (row.partition, row.frame) == ("sub01/black_first", 100)
    assert "no face inside the clip's face box" in row.reason

    crops = crop_faces(lazy, boxes, face_params)
    assert crops["sub01/black_first"]().frame_numbers.tolist() == [101, 102, 103]

    feature_params = conf_parameters(
        "feature_extraction", "casme2", "feature_extraction"
    )
    flow = extract_flow_features(
        crops, boxes, {**feature_params, "progress_every_s": 60}
    )
    starts = dict(zip(flow["partition"], flow["flow_from"]))
    assert starts == {"sub01/black_first": 101, "sub01/clean": 100}


def test_clip_left_with_too_few_frames_is_rejected(face, face_params):
    black = np.zeros_like(face)
    clips = {"sub01/mostly_black": _clip([face, black, black], apex_position=0)}
    lazy = {key: (lambda clip=clip: clip) for key, clip in clips.items()}
    boxes, rejects = detect_faces(_clip_index(clips), lazy, CASCADE, face_params)
    assert boxes.empty
    clip_rows = rejects[rejects["frame"].isna()]
    assert "only 1 sampled frame(s) show a face" in clip_rows["reason"].iloc[0]
    assert rejects["frame"].dropna().tolist() == [101, 102]


def test_clip_without_a_face_before_its_apex_is_rejected(face, face_params):
    """The flow starts before the apex: a clip whose pre-apex frames are all black has none."""
    black = np.zeros_like(face)
    clips = {"sub01/black_onset": _clip([black, black, face, face], apex_position=2)}
    lazy = {key: (lambda clip=clip: clip) for key, clip in clips.items()}
    boxes, rejects = detect_faces(_clip_index(clips), lazy, CASCADE, face_params)
    assert boxes.empty
    reason = rejects.loc[rejects["frame"].isna(), "reason"].iloc[0]
    assert "no face on any sampled frame before the apex 102" in reason
