"""Spotting on hand-made signals: peaks, boundaries, micro vs macro, threshold."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from me_emotion.pipelines.video_analysis.spotting import (
    baseline_threshold,
    motion_contrast,
    peak_intervals,
    region_slices,
    smooth,
    spot_video,
)

PARAMS = {
    "smooth_s": {"micro": 0.0, "macro": 0.0},
    "p": {"micro": 0.3, "macro": 0.5},
    "min_threshold": {"micro": 0.05, "macro": 0.05},
    "min_peak_distance_s": 0.1,
    "boundary_fraction": {"micro": 0.5, "macro": 0.5},
    "min_duration_s": 0.04,
    "min_duration_frames": 3,
    "crop_px": 96,
    "max_expression_motion": 0.1,
    "despike_frames": 1,
    "max_micro_duration_s": 0.5,
}


def triangle(n: int, onset: int, offset: int, height: float = 1.0) -> np.ndarray:
    signal = np.zeros(n)
    apex = (onset + offset) / 2
    frames = np.arange(n)
    inside = (frames >= onset) & (frames <= offset)
    signal[inside] = height * (1 - np.abs(frames[inside] - apex) / (apex - onset + 1))
    return signal


def signals(micro: np.ndarray, macro: np.ndarray | None = None, fps: float = 100.0):
    n = len(micro)
    return pd.DataFrame(
        {
            "frame": np.arange(n),
            "time_s": np.arange(n) / fps,
            "signal_micro": micro,
            "signal_macro": np.zeros(n) if macro is None else macro,
        }
    )


def test_two_micro_peaks_give_two_intervals_around_them():
    micro = triangle(600, 100, 130) + triangle(600, 400, 420, 0.8)
    table = spot_video(signals(micro), 100.0, PARAMS)
    assert table["kind"].tolist() == ["micro", "micro"]
    assert table["apex_frame"].tolist() == [115, 410]
    first = table.iloc[0]
    assert 105 <= first["onset_frame"] <= 110 and 120 <= first["offset_frame"] <= 125
    assert first["onset_s"] == pytest.approx(first["onset_frame"] / 100)


def test_a_long_bump_is_macro_and_swallows_micro_peaks_inside_it():
    n = 600
    micro = triangle(n, 100, 220) + triangle(n, 400, 420)  # 1.2 s and 0.2 s
    macro = triangle(n, 100, 220)
    table = spot_video(signals(micro, macro), 100.0, PARAMS)
    assert sorted(table["kind"]) == ["macro", "micro"]
    macro_row = table[table["kind"] == "macro"].iloc[0]
    assert macro_row["duration_s"] > 0.5
    assert table[table["kind"] == "micro"]["apex_frame"].tolist() == [410]


def test_a_still_face_spots_nothing():
    quiet = np.random.default_rng(0).uniform(0, 0.01, 500)
    assert spot_video(signals(quiet), 100.0, PARAMS).empty


def test_a_blip_shorter_than_the_minimum_is_dropped():
    micro = np.zeros(300)
    micro[150] = 1.0  # one frame at 30 fps: 0.033 s < 1/25 s
    assert spot_video(signals(micro, fps=30.0), 30.0, PARAMS).empty


def test_an_interval_that_runs_into_missing_values_is_dropped():
    signal = triangle(100, 20, 60) + triangle(100, 70, 90)
    signal[45] = np.nan  # face lost mid-way: neither half is seen rise and fall
    assert [apex for _, apex, _, _ in peak_intervals(signal, 0.5, 5, 0.1)] == [80]
    # a signal that starts high (the first scored frames of a track) is no peak
    start = np.r_[np.full(5, np.nan), np.linspace(1.0, 0.0, 20), np.zeros(20)]
    assert peak_intervals(start, 0.5, 5, 0.1) == []


def test_threshold_is_mean_plus_p_times_the_range_with_a_floor():
    signal = np.array([0.0, 0.0, 1.0, 0.0, np.nan])
    assert baseline_threshold(signal, 0.5, 0.0) == pytest.approx(0.25 + 0.5 * 0.75)
    assert baseline_threshold(signal, 0.5, 0.9) == 0.9
    assert baseline_threshold(np.array([np.nan]), 0.5, 0.0) == float("inf")


def test_smoothing_keeps_missing_frames_missing():
    out = smooth(np.array([0.0, 3.0, np.nan, 3.0, 0.0]), 3)
    assert np.isnan(out[2]) and out[1] == pytest.approx(1.5)


def test_motion_contrast_sees_a_passing_local_change_only():
    face = cv2.GaussianBlur(
        np.random.default_rng(1).uniform(0, 255, (64, 64)).astype(np.uint8), (5, 5), 1.5
    )
    slices = region_slices(
        64, {"mouth": [0.2, 0.6, 0.8, 0.9], "nose": [0.4, 0.35, 0.6, 0.55]}
    )
    changed = face.copy()
    changed[38:58, 12:52] = np.roll(face[38:58, 12:52], 2, axis=0)  # mouth moves
    assert motion_contrast(changed, face, face, slices, "nose") > 0.5
    assert motion_contrast(face, face, face, slices, "nose") < 0.05
    # a lasting change (only one neighbour differs) is not an expression
    assert motion_contrast(changed, face, changed, slices, "nose") < 0.05
    brighter = np.clip(face.astype(int) + 5, 0, 255).astype(np.uint8)
    assert motion_contrast(brighter, face, face, slices, "nose") < 0.3
    # the whole face shifted: head motion, subtracted; too fast: not scored
    shifted = np.roll(face, 1, axis=1)
    assert motion_contrast(shifted, face, face, slices, "nose") < 0.3
    assert np.isnan(
        motion_contrast(shifted, face, face, slices, "nose", max_head_px=0.5)
    )


def test_boundaries_are_measured_from_the_resting_level():
    signal = np.full(200, 0.5)  # a noisy video rests at 0.5
    signal[90:111] = 0.5 + triangle(200, 90, 110, 1.0)[90:111]  # peak 1.5 at 100
    # from 0: 0.3 x 1.5 = 0.45 < 0.5 everywhere, the interval would fill the video
    assert peak_intervals(signal, 1.0, 5, 0.3) == []  # ...and reach its edges
    ((onset, apex, offset, _),) = peak_intervals(signal, 1.0, 5, 0.3, floor=0.5)
    assert apex == 100 and 90 <= onset <= 94 and 106 <= offset <= 110


def test_a_still_face_in_a_noisy_video_spots_nothing():
    # resting at 1.0 (noise, talking, sway) with wiggles far below min_threshold
    busy = 1.0 + np.random.default_rng(2).uniform(0, 0.03, 600)
    assert spot_video(signals(busy), 100.0, PARAMS).empty
    busy[300:321] += triangle(600, 300, 320, 0.5)[300:321]  # a real bump on top
    assert spot_video(signals(busy), 100.0, PARAMS)["apex_frame"].tolist() == [310]


def test_motion_larger_than_any_expression_neither_spots_nor_hides_the_rest():
    micro = triangle(600, 100, 120, 0.5) + triangle(600, 400, 420, 0.5)
    micro[250:260] = 15.0  # a face sliding out of view: 15 px of a 96 px crop
    table = spot_video(signals(micro), 100.0, PARAMS)
    assert table["apex_frame"].tolist() == [110, 410]
