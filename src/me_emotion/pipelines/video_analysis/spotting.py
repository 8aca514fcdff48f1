"""Training-free spotting: a facial-motion contrast signal and its peaks.

The signal follows the field's feature-difference baselines (MEGC's
``mean + p (max - mean)`` threshold): for frame t, the face crop is compared
with the mean of the crops k frames before and after it, region by region
(eyebrows, mouth, ... as fractions of the face box). An expression that rises
and falls within about 2k frames peaks at its apex; a still face or a slow
drift gives ~0. Before comparing, the neighbours are aligned to frame t by
phase correlation (global head translation removed) and every region is
z-scored (global lighting changes removed); the difference of a rigid
reference region (the nose) is subtracted, so head rotation, which moves
every region, is not taken for an expression. k is tied to the video's fps:
``k = round(k_s * fps)``. Two scales run: ``micro`` (k about half a
micro-expression) and ``macro`` (longer), whose long intervals are the
macro-expressions that the micro intervals inside them belong to.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pandas as pd
from scipy.signal import find_peaks

SCALES = ("micro", "macro")


def frames_for(seconds: float, fps: float) -> int:
    """``seconds`` as a whole number of frames at ``fps`` (at least 1)."""
    return max(1, round(float(seconds) * float(fps)))


def region_slices(
    crop_px: int, regions: dict[str, list[float]]
) -> dict[str, tuple[slice, slice]]:
    """``{name: (rows, cols)}`` of regions given as ``[x0, y0, x1, y1]`` face-box fractions."""
    slices = {}
    for name, (x0, y0, x1, y1) in regions.items():
        rows = slice(int(y0 * crop_px), max(int(y1 * crop_px), int(y0 * crop_px) + 1))
        cols = slice(int(x0 * crop_px), max(int(x1 * crop_px), int(x0 * crop_px) + 1))
        slices[name] = (rows, cols)
    return slices


def align(moving: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``moving`` shifted onto ``reference`` by the phase-correlation translation."""
    (dx, dy), _ = cv2.phaseCorrelate(reference, moving)
    matrix = np.float32([[1, 0, -dx], [0, 1, -dy]])
    return cv2.warpAffine(
        moving,
        matrix,
        (moving.shape[1], moving.shape[0]),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _zscore(patch: np.ndarray) -> np.ndarray:
    return (patch - patch.mean()) / (patch.std() + 1.0)


def motion_contrast(
    center: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    slices: dict[str, tuple[slice, slice]],
    reference: str,
) -> float:
    """Largest regional change of ``center`` against its neighbours' mean, head motion removed.

    All three are float32 crops of the same size. Returns
    ``max over regions (d_region - d_reference)``, at least 0, where ``d`` is
    the mean absolute difference of z-scored patches.
    """
    before = align(before, center)
    after = align(after, center)
    differences = {}
    for name, (rows, cols) in slices.items():
        mean_neighbours = 0.5 * (
            _zscore(before[rows, cols]) + _zscore(after[rows, cols])
        )
        differences[name] = float(
            np.mean(np.abs(_zscore(center[rows, cols]) - mean_neighbours))
        )
    baseline = differences.pop(reference)
    return max(0.0, max(differences.values()) - baseline)


def smooth(signal: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over ``window`` frames; NaN (no face) stays NaN."""
    if window <= 1:
        return signal.astype(np.float64)
    values = np.nan_to_num(signal.astype(np.float64), nan=0.0)
    present = np.isfinite(signal).astype(np.float64)
    kernel = np.ones(window)
    total = np.convolve(values, kernel, mode="same")
    count = np.convolve(present, kernel, mode="same")
    out = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    out[~np.isfinite(signal)] = np.nan
    return out


def baseline_threshold(signal: np.ndarray, p: float, floor: float) -> float:
    """The MEGC threshold ``mean + p (max - mean)`` over the frames with a value, >= ``floor``."""
    values = signal[np.isfinite(signal)]
    if not len(values):
        return float("inf")
    mean, top = float(values.mean()), float(values.max())
    return max(float(floor), mean + float(p) * (top - mean))


def peak_intervals(
    signal: np.ndarray, threshold: float, min_distance: int, boundary_fraction: float
) -> list[tuple[int, int, int, float]]:
    """``(onset, apex, offset, peak value)`` of each peak above ``threshold``.

    The apex is the peak; onset and offset are the outermost frames around it
    whose value stays at or above ``boundary_fraction`` of the peak (a missing
    value ends the interval). Peaks whose intervals coincide are kept once.
    """
    values = np.nan_to_num(signal, nan=-np.inf)
    if not np.isfinite(threshold) or not np.isfinite(values).any():
        return []
    peaks, _ = find_peaks(
        np.where(np.isfinite(values), values, -1e9),
        height=threshold,
        distance=max(1, int(min_distance)),
    )
    found, seen = [], set()
    for apex in peaks:
        level = boundary_fraction * values[apex]
        onset = apex
        while onset > 0 and values[onset - 1] >= level:
            onset -= 1
        offset = apex
        while offset < len(values) - 1 and values[offset + 1] >= level:
            offset += 1
        if (onset, offset) in seen:
            continue
        seen.add((onset, offset))
        found.append((int(onset), int(apex), int(offset), float(values[apex])))
    return found


def spot_video(
    signals: pd.DataFrame, fps: float, params: dict[str, Any]
) -> pd.DataFrame:
    """Micro and macro intervals of one video from its ``signal_micro``/``signal_macro``.

    Args:
        signals: one row per frame in order: ``frame``, ``time_s``,
            ``signal_micro``, ``signal_macro`` (NaN where there is no face).
        fps: the video's frame rate (frames per second).
        params: ``video.spotting`` (``smooth_s``, ``p``, ``min_threshold``,
            ``min_peak_distance_s``, ``boundary_fraction``,
            ``min_duration_s``, ``max_micro_duration_s``).

    Returns:
        One row per interval: ``kind`` (micro | macro), ``onset_frame``,
        ``apex_frame``, ``offset_frame``, their times, ``duration_s``,
        ``score`` (the peak of the smoothed signal) and ``threshold``.
        Micro intervals shorter than ``min_duration_s`` are noise and dropped;
        those longer than ``max_micro_duration_s`` become macro; micro
        intervals overlapping a macro one are part of it and dropped.
    """
    frames = signals["frame"].to_numpy()
    times = signals["time_s"].to_numpy(np.float64)
    window = frames_for(params["smooth_s"], fps)
    min_distance = frames_for(params["min_peak_distance_s"], fps)
    found: dict[str, list[dict[str, Any]]] = {"micro": [], "macro": []}
    for scale in SCALES:
        smoothed = smooth(signals[f"signal_{scale}"].to_numpy(np.float64), window)
        threshold = baseline_threshold(
            smoothed, params["p"][scale], params["min_threshold"][scale]
        )
        for onset, apex, offset, score in peak_intervals(
            smoothed, threshold, min_distance, float(params["boundary_fraction"])
        ):
            duration = (offset - onset + 1) / fps
            if duration < float(params["min_duration_s"]):
                continue
            long = duration > float(params["max_micro_duration_s"])
            if scale == "macro" and not long:
                continue  # the micro scale spots these, with the better-suited k
            found["macro" if long else "micro"].append(
                {
                    "kind": "macro" if long else "micro",
                    "onset_frame": int(frames[onset]),
                    "apex_frame": int(frames[apex]),
                    "offset_frame": int(frames[offset]),
                    "onset_s": float(times[onset]),
                    "apex_s": float(times[apex]),
                    "offset_s": float(times[offset]),
                    "duration_s": float(duration),
                    "score": score,
                    "threshold": float(threshold),
                }
            )
    macro = _without_overlaps(found["macro"])
    micro = [
        row
        for row in _without_overlaps(found["micro"])
        if not any(_overlap(row, m) for m in macro)
    ]
    columns = [
        "kind",
        "onset_frame",
        "apex_frame",
        "offset_frame",
        "onset_s",
        "apex_s",
        "offset_s",
        "duration_s",
        "score",
        "threshold",
    ]
    table = pd.DataFrame(micro + macro, columns=columns)
    return table.sort_values(["onset_frame", "kind"]).reset_index(drop=True)


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["onset_frame"] <= b["offset_frame"] and b["onset_frame"] <= a["offset_frame"]
    )


def _without_overlaps(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of overlapping intervals, the one with the highest score."""
    kept: list[dict[str, Any]] = []
    for row in sorted(rows, key=lambda r: -r["score"]):
        if not any(_overlap(row, k) for k in kept):
            kept.append(row)
    return kept
