"""Training-free spotting: a facial-motion contrast signal and its peaks.

The signal follows the field's training-free baselines (MEGC's
``mean + p (max - mean)`` threshold on a feature difference between frame t
and frames k apart): for frame t, dense optical flow runs from the face crop
k frames before and k frames after to frame t, region by region (eyebrows,
mouth, ... as fractions of the face box); the median flow of a rigid
reference region (the nose) is subtracted first, which removes head
translation. A region scores the smaller of its two flow magnitudes, so an
expression that rises and falls within about 2k frames peaks at its apex,
while a lasting change (lighting step, new head pose) or a slow drift gives
~0. k is tied to the video's fps:
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


def regional_flow(
    flow: np.ndarray, slices: dict[str, tuple[slice, slice]], reference: str
) -> dict[str, float]:
    """Mean flow magnitude (px) per region after subtracting the reference region's median flow."""
    rows, cols = slices[reference]
    head = np.median(flow[rows, cols].reshape(-1, 2), axis=0)
    values = {
        name: float(np.mean(np.linalg.norm(flow[r, c] - head, axis=-1)))
        for name, (r, c) in slices.items()
        if name != reference
    }
    values[reference] = float(np.linalg.norm(head))  # the head's own motion
    return values


def dense_flow(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Farneback optical flow ``(H, W, 2)`` from ``first`` to ``second`` (uint8 crops)."""
    return cv2.calcOpticalFlowFarneback(first, second, None, 0.5, 2, 9, 3, 5, 1.1, 0)


def motion_contrast(
    center: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    slices: dict[str, tuple[slice, slice]],
    reference: str,
    *,
    max_head_px: float = np.inf,
) -> float:
    """How much the face at ``center`` differs from *both* neighbours, head motion removed.

    All three are uint8 face crops of the same size. For each region the
    optical-flow magnitude from each neighbour to ``center`` is taken after
    subtracting the reference (nose) region's median flow (head translation);
    the region's value is the smaller of the two, so a change that persists
    (a step in lighting or pose: only one neighbour differs) scores ~0 while
    an expression that comes and goes (both differ at its apex) scores high.
    Returns the largest region's value, in crop pixels; NaN when the head
    itself moved more than ``max_head_px`` (fast head motion: flow and
    expression cannot be told apart).
    """
    from_before = regional_flow(dense_flow(before, center), slices, reference)
    from_after = regional_flow(dense_flow(after, center), slices, reference)
    if max(from_before.pop(reference), from_after.pop(reference)) > max_head_px:
        return float("nan")
    return max(min(from_before[name], from_after[name]) for name in from_before)


def despike(signal: np.ndarray, window: int) -> np.ndarray:
    """Centred running median over ``window`` frames (odd), so a spike narrower
    than half the window (one glitched frame) is removed; NaN stays NaN and
    missing neighbours are left out of the median."""
    values = signal.astype(np.float64)
    if window <= 1 or not np.isfinite(values).any():
        return values
    half = window // 2
    padded = np.pad(values, half, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    out = np.full_like(values, np.nan)
    present = np.isfinite(values)
    with np.errstate(all="ignore"):
        out[present] = np.nanmedian(windows[present], axis=1)
    return out


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
    signal: np.ndarray,
    threshold: float,
    min_distance: int,
    boundary_fraction: float,
    floor: float = 0.0,
) -> list[tuple[int, int, int, float]]:
    """``(onset, apex, offset, peak value)`` of each peak above ``threshold``.

    The apex is the peak; onset and offset are the outermost frames around it
    whose value stays at or above ``floor + boundary_fraction (peak - floor)``
    (``floor``: the signal's resting level, e.g. its median, so a noisy
    video's intervals do not spread over its whole resting stretch). An
    interval must rise from and fall back below that level within scored
    frames: one that runs into a missing value (no face, a new track, fast
    head motion) or the video's edge is dropped, since what is seen of it may
    be an edge effect rather than an expression. Peaks whose intervals
    coincide are kept once.
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
        level = floor + boundary_fraction * (values[apex] - floor)
        onset = apex
        while onset > 0 and values[onset - 1] >= level:
            onset -= 1
        offset = apex
        while offset < len(values) - 1 and values[offset + 1] >= level:
            offset += 1
        if onset == 0 or offset == len(values) - 1:
            continue  # runs into the video's edge
        if not (np.isfinite(values[onset - 1]) and np.isfinite(values[offset + 1])):
            continue  # runs into a gap: its rise or fall is not seen
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
        params: ``video.spotting`` (``crop_px``, ``max_expression_motion``,
            ``despike_frames``, ``smooth_s``, ``p``,
            ``min_threshold``, ``min_peak_distance_s``, ``boundary_fraction``,
            ``min_duration_s``, ``min_duration_frames``,
            ``max_micro_duration_s``).

    Returns:
        One row per interval: ``kind`` (micro | macro), ``onset_frame``,
        ``apex_frame``, ``offset_frame``, their times, ``duration_s``,
        ``score`` (the peak of the smoothed signal) and ``threshold``.
        Intervals shorter than ``min_duration_s`` or ``min_duration_frames``
        (3: onset, apex and offset apart) are noise and dropped;
        those longer than ``max_micro_duration_s`` become macro; micro
        intervals overlapping a macro one are part of it and dropped.
    """
    frames = signals["frame"].to_numpy()
    times = signals["time_s"].to_numpy(np.float64)
    min_distance = frames_for(params["min_peak_distance_s"], fps)
    too_large = float(params["max_expression_motion"]) * float(params["crop_px"])
    found: dict[str, list[dict[str, Any]]] = {"micro": [], "macro": []}
    for scale in SCALES:
        window = frames_for(params["smooth_s"][scale], fps)
        raw = signals[f"signal_{scale}"].to_numpy(np.float64)
        # more motion than any expression (a face sliding out of view, a
        # tracker losing it): not an expression, and not a reason to raise
        # the video's threshold over every real one
        raw = np.where(raw > too_large, np.nan, raw)
        smoothed = smooth(despike(raw, int(params["despike_frames"])), window)
        scored = smoothed[np.isfinite(smoothed)]
        floor = float(np.median(scored)) if len(scored) else 0.0  # resting level
        # min_threshold counts from the resting level: a still face spots
        # nothing however noisy (or busy) the video is
        threshold = baseline_threshold(
            smoothed, params["p"][scale], floor + float(params["min_threshold"][scale])
        )
        for onset, apex, offset, score in peak_intervals(
            smoothed,
            threshold,
            min_distance,
            float(params["boundary_fraction"][scale]),
            floor,
        ):
            duration = (offset - onset + 1) / fps
            if duration < float(params["min_duration_s"]) or offset - onset + 1 < int(
                params["min_duration_frames"]
            ):
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
