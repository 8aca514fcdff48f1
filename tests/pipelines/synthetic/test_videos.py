"""Synthetic long videos: readable files, consistent ground truth, deterministic plans.

The tiny videos come from the session's tiny synthetic run (``tiny_release_dir``,
which runs ``--pipelines=synthetic`` and so writes them); the default set is
checked through its plan only, without rendering it.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from me_emotion.datasets.packaged_faces import PHOTOGRAPHS
from me_emotion.pipelines.synthetic.video import (
    CLASS3,
    DISTRACTORS,
    GROUND_TRUTH_COLUMNS,
    plan_videos,
    render_videos,
)
from tests.conftest import conf_parameters

CASME2_EMOTIONS = {
    "happiness",
    "disgust",
    "surprise",
    "repression",
    "others",
    "fear",
    "sadness",
}


def video_params(size: str, **changes) -> dict:
    return {**conf_parameters("synthetic", "synthetic_videos"), "size": size, **changes}


@pytest.fixture(scope="module")
def tiny_videos(tiny_release_dir: Path) -> Path:
    return tiny_release_dir / "videos"


@pytest.fixture(scope="module")
def default_plan() -> tuple[pd.DataFrame, pd.DataFrame]:
    return plan_videos(video_params("default"))


def check_ground_truth(truth: pd.DataFrame, frame_counts: dict[str, int]) -> None:
    """Every rule a ground-truth table must keep (shared by tiny and default)."""
    assert list(truth.columns[: len(GROUND_TRUTH_COLUMNS)]) == GROUND_TRUTH_COLUMNS
    assert (truth["onset_frame"] <= truth["apex_frame"]).all()
    assert (truth["apex_frame"] <= truth["offset_frame"]).all()
    assert (truth["onset_frame"] >= 0).all()
    last = truth["video"].map(frame_counts) - 1
    assert (truth["offset_frame"] <= last).all()
    for edge in ("onset", "apex", "offset"):
        seconds = truth[f"{edge}_frame"] / truth["fps"]
        assert np.allclose(truth[f"{edge}_s"], seconds)
    span = truth["offset_frame"] - truth["onset_frame"]
    micro = truth["event"] == "micro"
    macro = truth["event"] == "macro"
    # both ways of counting a duration (frame gaps, frames inclusive) stay in range
    assert (span[micro] / truth.loc[micro, "fps"] >= 1 / 25).all()
    assert ((span[micro] + 1) / truth.loc[micro, "fps"] <= 0.5).all()
    assert (span[macro] / truth.loc[macro, "fps"] > 0.5).all()
    expressions = truth[micro | macro]
    assert set(expressions["emotion"]) <= CASME2_EMOTIONS
    assert (expressions["class3"] == expressions["emotion"].map(CLASS3)).all()
    distractors = truth[~(micro | macro)]
    assert set(distractors["event"]) <= set(DISTRACTORS)
    assert (distractors["emotion"].fillna("") == "").all()
    assert (distractors["class3"].fillna("") == "").all()
    # events other than head drift follow one another without overlapping
    for _, unsorted in truth[truth["event"] != "head_drift"].groupby("video"):
        video = unsorted.sort_values("onset_frame")
        assert (
            video["onset_frame"].iloc[1:].to_numpy()
            > video["offset_frame"].iloc[:-1].to_numpy()
        ).all()


def test_tiny_videos_are_readable_with_declared_fps_size_and_frames(tiny_videos):
    manifest = json.loads((tiny_videos / "VIDEOS_SYNTHETIC.json").read_text())
    assert manifest["size"] == "tiny" and len(manifest["videos"]) == 4
    assert manifest["splits"] == {"dev": [2026], "test": [777]}
    assert {v["split"] for v in manifest["videos"]} == {"dev", "test"}
    assert "SYNTHETIC demo data" in manifest["description"]
    for video in manifest["videos"]:
        capture = cv2.VideoCapture(str(tiny_videos / video["video"]))
        assert capture.isOpened(), video["video"]
        assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(video["fps"])
        assert int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)) == video["width"]
        assert int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == video["height"]
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == video["frame_count"]
        frames = 0
        while capture.read()[0]:
            frames += 1
        capture.release()
        assert frames == video["frame_count"]
    assert {v["fps"] for v in manifest["videos"]} == {30.0, 200.0}


def test_tiny_ground_truth_sidecars_are_consistent(tiny_videos):
    manifest = json.loads((tiny_videos / "VIDEOS_SYNTHETIC.json").read_text())
    counts = {v["video"]: v["frame_count"] for v in manifest["videos"]}
    for name in counts:
        sidecar = tiny_videos / f"{Path(name).stem}.ground_truth.csv"
        truth = pd.read_csv(sidecar)
        assert set(truth["video"]) == {name}
        assert (truth["data_source"] == "SYNTHETIC").all()
        assert set(truth["split"]) == {
            name.split("_")[0]
        }  # dev_s2026_... / test_s777_...
        assert (truth["event"] == "micro").sum() >= 2
        check_ground_truth(truth, counts)


def test_default_plan_has_every_distractor_fps_split_and_profile(default_plan):
    videos, events = default_plan
    check_ground_truth(events, dict(zip(videos["video"], videos["frame_count"])))
    assert set(videos["fps"]) == {30.0, 200.0}
    assert (640, 480) in set(zip(videos["width"], videos["height"]))
    assert videos["duration_s"].between(10, 60).all()
    # every (split, seed, profile) has both frame rates
    sets = videos.groupby(["split", "seed", "profile"])["fps"].apply(set)
    assert (sets == {30.0, 200.0}).all() and len(sets) == 8
    seeds = videos.groupby("split")["seed"].apply(set)
    assert seeds["dev"] == {2026} and len(seeds["test"]) >= 3
    assert not seeds["dev"] & seeds["test"]  # test seeds are never tuned on
    for (split, seed, profile), kinds in events.groupby(["split", "seed", "profile"])[
        "event"
    ]:
        expected = {"micro", "macro", *DISTRACTORS} - (
            set() if profile == "realistic" else {"talking"}
        )
        assert set(kinds) == expected, (split, seed, profile)
    assert videos["video"].str.endswith(".mp4").all()
    assert videos["video"].is_unique


def test_realistic_profile_talks_sways_and_has_smaller_micro_expressions(
    default_plan,
):
    videos, events = default_plan
    realistic = videos["profile"] == "realistic"
    for key in ("sway_face", "nod_face", "yaw", "exposure_drift", "blink_brow"):
        assert (videos.loc[realistic, key] > 0).all(), key
        assert (videos.loc[~realistic, key] == 0).all(), key
    talking = events[events["event"] == "talking"]
    seconds = (talking["offset_frame"] - talking["onset_frame"] + 1) / talking["fps"]
    assert seconds.between(2.5, 4.5).all() and set(talking["profile"]) == {"realistic"}
    micro = events[events["event"] == "micro"].groupby("profile")["amplitude"]
    assert micro.min()["realistic"] >= 0.005 and micro.max()["realistic"] <= 0.02
    assert micro.min()["realistic"] < 0.01 < micro.min()["standard"]


def test_a_seed_in_both_splits_is_refused():
    params = video_params("tiny")
    both = {**params["sizes"]["tiny"], "splits": {"dev": [5], "test": [5, 6]}}
    with pytest.raises(ValueError, match="both dev and test"):
        plan_videos({**params, "sizes": {"tiny": both}})


def test_realistic_frames_talk_and_sway_where_standard_ones_are_still():
    params = video_params("tiny")
    short = {**params["sizes"]["tiny"]["videos"][0], "duration_s": 8}
    tiny = {
        "splits": {"dev": [2026], "test": []},
        "profiles": ["realistic"],
        "videos": [{**short, "events": {"micro": 1, "blink": 1}}],
    }
    realistic = {**params, "sizes": {"tiny": tiny}}
    video, events = _scene(realistic)
    scene = video.scene()
    talking = events[events["event"] == "talking"].iloc[0]
    gray = [
        cv2.cvtColor(scene.frame(n), cv2.COLOR_BGR2GRAY).astype(float)
        for n in range(talking.onset_frame, talking.offset_frame, 2)
    ]
    # the mouth (lower face) changes more than the forehead while talking
    height = gray[0].shape[0]
    change = np.abs(np.diff(np.stack(gray), axis=0)).mean(axis=0)
    assert change[int(0.55 * height) : int(0.75 * height)].mean() > 1.0
    # the head never stops: two frames 1 s apart differ far beyond sensor noise
    a, b = (cv2.cvtColor(scene.frame(n), cv2.COLOR_BGR2GRAY) for n in (0, 30))
    assert np.abs(a.astype(float) - b).mean() > 3.0


def test_plan_is_deterministic_per_seed(default_plan):
    videos, events = default_plan
    again_videos, again_events = plan_videos(video_params("default"))
    pd.testing.assert_frame_equal(events, again_events)
    pd.testing.assert_frame_equal(videos, again_videos)
    params = video_params("default")
    other_seeds = {**params["sizes"]["default"], "splits": {"dev": [7], "test": [8]}}
    _, other = plan_videos({**params, "sizes": {"default": other_seeds}})
    assert not other["onset_frame"].head(50).equals(events["onset_frame"].head(50))


def _scene(params: dict, stem_number: int = 0):
    videos, events = plan_videos(params)
    photos = {name: load() for name, load in PHOTOGRAPHS.items()}
    video = render_videos(photos, videos, events, params)[videos["video"][stem_number]]
    return video, events[events["video"] == videos["video"][stem_number]]


def test_frames_are_deterministic_and_show_the_planned_movements():
    params = video_params("tiny")
    first, events = _scene(params)
    second, _ = _scene(params)
    a, b = first.scene(), second.scene()
    for number in (0, 17, first.frame_count - 1):
        assert np.array_equal(a.frame(number), b.frame(number))

    def flow(onset: int, apex: int) -> float:
        gray = [cv2.cvtColor(a.frame(n), cv2.COLOR_BGR2GRAY) for n in (onset, apex)]
        field = cv2.calcOpticalFlowFarneback(*gray, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        return float(np.linalg.norm(field, axis=2).max())

    micro = events[events["event"] == "micro"].iloc[0]
    # a micro-expression moves the face by about a pixel or more, not by tens
    assert 0.5 < flow(micro.onset_frame, micro.apex_frame) < 8
    turn = events[events["event"] == "head_turn"].iloc[0]
    assert flow(turn.onset_frame, turn.apex_frame) > 5  # global motion is large
    out = events[events["event"] == "face_out"].iloc[0]
    face = cv2.CascadeClassifier(
        cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    )
    gray_out = cv2.cvtColor(a.frame(out.apex_frame), cv2.COLOR_BGR2GRAY)
    assert len(face.detectMultiScale(gray_out, 1.1, 5, minSize=(40, 40))) == 0
    gray_in = cv2.cvtColor(a.frame(0), cv2.COLOR_BGR2GRAY)
    assert len(face.detectMultiScale(gray_in, 1.1, 5, minSize=(40, 40))) >= 1


def test_events_that_do_not_fit_raise_a_clear_error():
    params = video_params("tiny")
    tiny = params["sizes"]["tiny"]
    crowded = {**tiny, "videos": [{**tiny["videos"][0], "duration_s": 2}]}
    with pytest.raises(ValueError, match="do not fit"):
        plan_videos({**params, "sizes": {"tiny": crowded}})
    unknown = {**tiny, "videos": [{**tiny["videos"][0], "events": {"sneeze": 1}}]}
    with pytest.raises(ValueError, match="unknown kinds"):
        plan_videos({**params, "sizes": {"tiny": unknown}})
    with pytest.raises(ValueError, match="not one of"):
        plan_videos({**params, "size": "huge"})
    with pytest.raises(ValueError, match="container"):
        plan_videos({**params, "container": "gif"})
    long_micro = {**params["events"]["micro"], "duration_s": [0.6, 0.7]}
    with pytest.raises(ValueError, match="micro of .* breaks"):
        plan_videos({**params, "events": {**params["events"], "micro": long_micro}})
