"""Nodes of the video pipeline: videos -> face tracks -> spotting -> labels -> agreement.

Every node is a pure function of catalog datasets and ``params:video``
blocks (conf/base/parameters_video.yml). Videos arrive as lazy
``VideoSource`` readers and are streamed frame by frame; a video that cannot
be read becomes a row of ``video.rejects`` with the reason, and the others
go on.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from me_emotion.core.crop import square_crop_box
from me_emotion.core.emotion_groups import GROUPS, group_probabilities
from me_emotion.core.face_box import clip_box, training_crops
from me_emotion.core.haar import HaarCascade
from me_emotion.core.releases import DATASETS
from me_emotion.core.vgg16 import Vgg16Weights, resolve_precision
from me_emotion.datasets.video_files import VideoReadError, VideoSource
from me_emotion.progress import ProgressLog

from .recognition import (
    RECOGNITION_MODELS,
    check_classes,
    flow_probabilities,
    hybrid_probabilities,
    interval_flow_maps,
)
from .spotting import (
    SCALES,
    frames_for,
    motion_contrast,
    region_slices,
    spot_video,
)
from .tracking import FaceTracker, make_detector, tracking_scale

logger = logging.getLogger(__name__)

MODEL_NAMESPACES = DATASETS
TRACK_COLUMNS = ["video", "frame", "time_s", "face", "x", "y", "width", "height", "how"]
INDEX_COLUMNS = [
    "video",
    "path",
    "status",
    "reason",
    "fps",
    "n_frames",
    "width",
    "height",
    "duration_s",
    "tracking_scale",
    "variable_frame_rate",
    "tracker",
    "seconds_tracking",
]
REJECT_COLUMNS = ["video", "path", "reason"]
INTERVAL_KEYS = ["video", "interval"]
SIGNAL_BATCH = 64  # frame triples in flight on the thread pool


# ---- face tracks ---------------------------------------------------------------------


def _index_row(source: VideoSource, **values: Any) -> dict[str, Any]:
    row = dict.fromkeys(INDEX_COLUMNS)
    row.update(video=source.name, path=str(source.path), **values)
    return row


def _track_one(
    source: VideoSource, haar_cascade: HaarCascade, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Face track of one video and its index row (status ``ok``, ``no_face`` or ``rejected``)."""
    start = time.perf_counter()
    try:
        probe = source.probe()
    except VideoReadError as error:
        return pd.DataFrame(columns=TRACK_COLUMNS), _index_row(
            source, status="rejected", reason=str(error)
        )
    scale = tracking_scale(probe.width, probe.height, int(params["max_side"]))
    fps_declared = probe.fps if probe.fps > 0 else float(params["fallback_fps"])
    tracker = FaceTracker(
        make_detector(params, haar_cascade),
        redetect_every=frames_for(params["redetect_every_s"], fps_declared),
        min_match_score=float(params["min_match_score"]),
        smoothing=float(params["smoothing"]),
    )
    rows = []
    every_s, last_log = float(params["progress_every_s"]), time.perf_counter()
    for index, seconds, frame in source.frames():
        if time.perf_counter() - last_log >= every_s:
            last_log = time.perf_counter()
            logger.info(
                "%s: tracking frame %d of %d (%.0f%%)",
                source.name,
                index,
                probe.n_frames,
                100.0 * index / max(probe.n_frames, 1),
            )
        small = (
            frame
            if scale == 1.0
            else cv2.resize(
                frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA
            )
        )
        box, how = tracker.update(small)
        if box is None:
            rows.append((source.name, index, seconds, False, -1, -1, 0, 0, how))
        else:
            x, y, w, h = (int(round(v / scale)) for v in box)
            rows.append((source.name, index, seconds, True, x, y, w, h, how))
    tracks = pd.DataFrame(rows, columns=TRACK_COLUMNS)
    notes = []
    if scale < 1.0:
        notes.append(
            f"tracked at {scale:.3f}x ({probe.width}x{probe.height} is larger than "
            f"max_side {params['max_side']} px)"
        )
    if probe.fps <= 0:
        notes.append(f"no frame rate in the file: {fps_declared} fps assumed")
    if source.kind == "file" and probe.n_frames and len(tracks) < probe.n_frames - 1:
        notes.append(
            f"truncated: {len(tracks)} of {probe.n_frames} declared frames decoded"
        )
    fps, variable = _measured_fps(tracks["time_s"].to_numpy(), fps_declared)
    if variable:
        notes.append(f"variable frame rate: spotting uses its mean, {fps:.2f} fps")
    minimum = 2 * frames_for(params["min_video_s"], fps) + 1
    status = "ok"
    if len(tracks) < minimum:
        status = "rejected"
        notes.insert(
            0,
            f"too short to spot in: {len(tracks)} frame(s) decoded, at least {minimum} "
            f"needed ({params['min_video_s']} s either side of a frame)",
        )
    elif not tracks["face"].any():
        status = "no_face"
        notes.insert(0, "no face found in any frame")
    duration = float(tracks["time_s"].iloc[-1]) + 1.0 / fps if len(tracks) else 0.0
    return tracks, _index_row(
        source,
        status=status,
        reason="; ".join(notes),
        fps=fps,
        n_frames=len(tracks),
        width=probe.width,
        height=probe.height,
        duration_s=duration,
        tracking_scale=scale,
        variable_frame_rate=variable,
        tracker=params["tracker"],
        seconds_tracking=time.perf_counter() - start,
    )


def _measured_fps(times: np.ndarray, declared: float) -> tuple[float, bool]:
    """Mean fps from the frame times and whether their spacing varies (> 10 %)."""
    if len(times) < 3:
        return float(declared), False
    steps = np.diff(times)
    steps = steps[steps > 0]
    if not len(steps):
        return float(declared), False
    variable = bool(steps.std() > 0.1 * steps.mean())
    return (float(1.0 / steps.mean()) if variable else float(declared)), variable


def track_faces(
    videos: dict[str, VideoSource], haar_cascade: HaarCascade, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Face box of every frame of every video (``params:video.tracking``).

    ``haar_cascade`` (``video.haar_cascade``) is the ``haar`` tracker's detector.

    Returns:
        ``face_tracks``: one row per frame (``face`` False where none, ``how``
        says why); ``video_index``: one row per video found (``status`` ok,
        no_face or rejected, ``reason``, fps, size, duration, ...);
        ``rejects``: the rejected videos with their reasons.
    """
    progress = ProgressLog(
        "video track_faces", len(videos), float(params["progress_every_s"]), logger
    )
    tracks, index = [], []
    for name, source in videos.items():
        track, row = _track_one(source, haar_cascade, params)
        tracks.append(track)
        index.append(row)
        (logger.warning if row["status"] == "rejected" else logger.info)(
            "%s: %s, %d frames, %s",
            name,
            row["status"],
            row["n_frames"] or 0,
            row["reason"] or "no note",
        )
        progress.step()
    face_tracks = pd.concat(
        [t for t in tracks if len(t)] or [pd.DataFrame(columns=TRACK_COLUMNS)],
        ignore_index=True,
    )
    video_index = pd.DataFrame(index, columns=INDEX_COLUMNS)
    rejects = video_index.loc[video_index["status"] == "rejected", REJECT_COLUMNS]
    return face_tracks, video_index, rejects.reset_index(drop=True)


# ---- spotting --------------------------------------------------------------------------


def _boxes_of(track: pd.DataFrame) -> dict[int, tuple[int, int, int, int]]:
    """``{frame: (x, y, w, h)}`` of the frames with a face."""
    faces = track[track["face"].astype(bool)]
    return {
        int(f): (int(x), int(y), int(w), int(h))
        for f, x, y, w, h in faces[["frame", "x", "y", "width", "height"]].itertuples(
            index=False
        )
    }


def _crop(
    frame: np.ndarray, box: tuple[int, int, int, int], size: int
) -> np.ndarray | None:
    """``box`` of ``frame`` resized to ``size`` px square; None when the frame edge cuts it."""
    x, y, w, h = box
    if x < 0 or y < 0 or x + w > frame.shape[1] or y + h > frame.shape[0]:
        return None  # face cut by the frame edge: its crop would change scale
    return cv2.resize(
        frame[y : y + h, x : x + w], (size, size), interpolation=cv2.INTER_AREA
    )


def signal_of_video(
    source: VideoSource, track: pd.DataFrame, fps: float, params: dict[str, Any]
) -> pd.DataFrame:
    """``signal_micro`` and ``signal_macro`` of every frame of one video (NaN: no value).

    Frame t is scored at a scale with step k only when the face was tracked
    without a break from ``settle_s`` before t - k through t + k, and the
    three frames t - k, t, t + k are cropped with the *same* box, frame t's:
    so a re-detection's box jump, the box's moving average converging at the
    start of a track, or a new track cannot look like facial motion; only
    the image inside the box moving can.
    """
    size = int(params["crop_px"])
    slices = region_slices(size, params["regions"])
    reference = params["reference_region"]
    if reference not in slices:
        raise ValueError(
            f"video.spotting.reference_region {reference!r} is not one of the regions "
            f"{sorted(slices)} (conf/base/parameters_video.yml)"
        )
    k = {scale: frames_for(params["k_s"][scale], fps) for scale in SCALES}
    keep = 2 * max(k.values()) + 1
    values = {scale: np.full(len(track), np.nan) for scale in SCALES}
    boxes = _boxes_of(track)
    frames: dict[int, np.ndarray] = {}
    settle = frames_for(params["settle_s"], fps)
    max_head_px = float(params["max_head_motion"]) * size
    run = 0  # consecutive frames with a face so far
    # Optical flow on the cores this process may use (OpenCV releases the GIL);
    # each value depends on its own three crops only, so the signal is the same.
    pool = ThreadPoolExecutor(max(1, min(len(os.sched_getaffinity(0)), 4)))
    pending: deque = deque()  # (scale, center, future), oldest first

    def contrast(before: np.ndarray, center: np.ndarray, after: np.ndarray) -> float:
        return motion_contrast(
            center, before, after, slices, reference, max_head_px=max_head_px
        )

    def collect(leave: int) -> None:
        while len(pending) > leave:
            scale, center, future = pending.popleft()
            values[scale][center] = future.result()

    for index, _, frame in source.frames():
        run = run + 1 if index in boxes else 0
        frames[index] = frame
        frames.pop(index - keep, None)
        for scale, step in k.items():
            center = index - step
            # the face was there, without a break, from settle frames before center - step
            if run <= settle + 2 * step or not 0 <= center < len(track):
                continue
            box = boxes[center]
            parts = [
                _crop(frames[f], box, size) for f in (center - step, center, index)
            ]
            if any(p is None for p in parts):
                continue
            pending.append((scale, center, pool.submit(contrast, *parts)))
        collect(SIGNAL_BATCH)  # decoding goes on while the pool works
    collect(0)
    pool.shutdown()
    return pd.DataFrame(
        {
            "video": source.name,
            "frame": track["frame"].to_numpy(),
            "time_s": track["time_s"].to_numpy(),
            "face": track["face"].to_numpy(),
            "signal_micro": values["micro"],
            "signal_macro": values["macro"],
        }
    )


def compute_spotting_signals(
    videos: dict[str, VideoSource],
    face_tracks: pd.DataFrame,
    video_index: pd.DataFrame,
    params: dict[str, Any],
) -> pd.DataFrame:
    """The spotting signals of every video with a face (``params:video.spotting``).

    Returns:
        One row per frame: ``video, frame, time_s, face, signal_micro,
        signal_macro`` (see ``spotting.py``).
    """
    usable = video_index[video_index["status"] == "ok"]
    progress = ProgressLog(
        "video compute_spotting_signals",
        len(usable),
        float(params["progress_every_s"]),
        logger,
    )
    tables = []
    tracks = dict(tuple(face_tracks.groupby("video", sort=False)))
    for row in usable.itertuples(index=False):
        start = time.perf_counter()
        tables.append(
            signal_of_video(videos[row.video], tracks[row.video], row.fps, params)
        )
        logger.info(
            "%s: spotting signal in %.1f s", row.video, time.perf_counter() - start
        )
        progress.step()
    columns = ["video", "frame", "time_s", "face", "signal_micro", "signal_macro"]
    return pd.concat(tables or [pd.DataFrame(columns=columns)], ignore_index=True)


def spot_intervals(
    signals: pd.DataFrame, video_index: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Micro- and macro-expression intervals of every video (see ``spotting.spot_video``).

    Returns:
        One row per interval: ``video``, ``interval`` (0-based within the
        video), ``kind``, onset/apex/offset in frames and seconds,
        ``duration_s``, ``score``, ``threshold``.
    """
    fps = video_index.set_index("video")["fps"]
    tables = []
    for video, table in signals.groupby("video", sort=False):
        spotted = spot_video(table.reset_index(drop=True), float(fps[video]), params)
        spotted.insert(0, "interval", range(len(spotted)))
        spotted.insert(0, "video", video)
        tables.append(spotted)
        logger.info(
            "%s: %d micro, %d macro interval(s)",
            video,
            int((spotted["kind"] == "micro").sum()),
            int((spotted["kind"] == "macro").sum()),
        )
    if not tables:
        empty = spot_video(
            pd.DataFrame(columns=["frame", "time_s", "signal_micro", "signal_macro"]),
            30.0,
            params,
        )
        empty.insert(0, "interval", [])
        empty.insert(0, "video", [])
        return empty
    return pd.concat(tables, ignore_index=True)


# ---- recognition -----------------------------------------------------------------------


def _frames_to_classify(row: Any, per_interval: int) -> list[int]:
    """The interval's frames the model sees: apex first, then spread onset..offset."""
    spread = np.rint(np.linspace(row.onset_frame, row.offset_frame, per_interval))
    chosen = [int(row.apex_frame)] + [
        int(f) for f in spread if int(f) != row.apex_frame
    ]
    return chosen[:per_interval]


BOX_FROM_DETECTOR = "detector"  # the face stage's policy found the face
BOX_FROM_TRACK = "track"  # it found none: the tracker's box at the onset


def truth_micro_intervals(
    ground_truth: pd.DataFrame, video_index: pd.DataFrame
) -> pd.DataFrame:
    """The ground-truth micro-expressions of the analysed videos, as intervals to classify.

    They are classified as the spotted ones are, so recognition can be
    measured on the true intervals (framing and model only) beside the
    spotted ones (spotting, framing and model). Videos are matched by file
    name (``evaluation``'s rule); truths of videos not analysed (rejected, no
    face) are left out.

    Returns:
        ``video`` (the analysed video's name), ``interval`` (0-based per video),
        ``kind`` (micro), ``onset_frame``, ``apex_frame``, ``offset_frame``,
        ``class3``.
    """
    from .evaluation import video_key  # noqa: PLC0415

    columns = [
        "video",
        "interval",
        "kind",
        "onset_frame",
        "apex_frame",
        "offset_frame",
        "class3",
    ]
    if ground_truth.empty or "event" not in ground_truth:
        return pd.DataFrame(columns=columns)
    usable = video_index[video_index["status"] == "ok"]
    names = {video_key(v): v for v in usable["video"]}
    micro = ground_truth[ground_truth["event"] == "micro"].copy()
    micro["video"] = micro["video"].map(video_key).map(names)
    micro = micro.dropna(subset=["video"])
    if "apex_frame" not in micro or micro["apex_frame"].isna().any():
        # no apex given: the middle frame, as sample_frames does without one
        middle = (micro["onset_frame"] + micro["offset_frame"]) // 2
        micro["apex_frame"] = micro.get("apex_frame", middle).fillna(middle)
    micro["kind"] = "micro"
    micro["class3"] = micro.get("class3", pd.Series("", index=micro.index))
    micro = micro.sort_values(["video", "onset_frame"], kind="stable")
    micro["interval"] = micro.groupby("video", sort=False).cumcount()
    for column in ("onset_frame", "apex_frame", "offset_frame", "interval"):
        micro[column] = micro[column].astype(np.int64)
    return micro[columns].reset_index(drop=True)


def _crops_of(
    videos: dict[str, VideoSource],
    face_tracks: pd.DataFrame,
    intervals: pd.DataFrame,
    *,
    classifier: Any,
    face_params: dict[str, Any],
    per: int,
) -> dict[str, np.ndarray]:
    """Training-style crops of ``intervals``' micro rows (see ``extract_interval_crops``)."""
    size = int(face_params["crop_size"])
    micro = intervals[intervals["kind"] == "micro"].reset_index(drop=True)
    n = len(micro)
    frames = np.zeros((n, per, size, size), np.uint8)
    onsets = np.zeros((n, size, size), np.uint8)
    apexes = np.zeros((n, size, size), np.uint8)
    boxes = np.zeros((n, 4), np.int64)
    box_from = np.full(n, BOX_FROM_DETECTOR, dtype=object)
    tracks = dict(tuple(face_tracks.groupby("video", sort=False)))
    for video, rows in micro.groupby("video", sort=False):
        wanted = {
            position: sorted(
                {int(row.onset_frame), int(row.apex_frame)}
                | set(_frames_to_classify(row, per))
            )
            for position, row in zip(rows.index, rows.itertuples(index=False))
        }
        needed = set().union(*wanted.values())
        images: dict[int, np.ndarray] = {}
        for index, _, frame in videos[video].frames():
            if index in needed:
                images[index] = frame
            if index >= max(needed):
                break
        track = tracks[video].set_index("frame")
        for position, row in zip(rows.index, rows.itertuples(index=False)):
            numbers = np.array([f for f in wanted[position] if f in images])
            stack = np.stack([images[f] for f in numbers])
            found = clip_box(stack, numbers, face_params, classifier)
            crop = found.crop
            if crop is None:  # no face for the detector: the track's box at the onset
                box_from[position] = BOX_FROM_TRACK
                face = track.loc[int(row.onset_frame)]
                crop = square_crop_box(
                    (
                        int(face["x"]),
                        int(face["y"]),
                        int(face["width"]),
                        int(face["height"]),
                    ),
                    stack.shape[1],
                    stack.shape[2],
                    float(face_params["margin"]),
                )
            boxes[position] = crop
            cropped = dict(
                zip(numbers.tolist(), training_crops(stack, crop, face_params))
            )
            frames[position] = [cropped[f] for f in _frames_to_classify(row, per)]
            onsets[position] = cropped[int(row.onset_frame)]
            apexes[position] = cropped[int(row.apex_frame)]
    return {
        "video": micro["video"].to_numpy(str),
        "interval": micro["interval"].to_numpy(np.int64),
        "frames": frames,
        "onset": onsets,
        "apex": apexes,
        "crop_box": boxes,
        "box_from": box_from.astype(str),
    }


def extract_interval_crops(  # noqa: PLR0913, PLR0917 - a Kedro node: catalog inputs, in order
    videos: dict[str, VideoSource],
    face_tracks: pd.DataFrame,
    intervals: pd.DataFrame,
    truth_intervals: pd.DataFrame,
    haar_cascade: HaarCascade,
    face_params: dict[str, Any],
    params: dict[str, Any],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Face crops of each micro interval, made as the training crops are.

    As the face stage does for a training clip (``core.face_box``): one box
    per interval, the largest Haar face on its onset frame (else on its next
    frames, at most ``max_frames_tried``), squared and grown by ``margin``;
    every frame of the interval cut with that box, resized to ``crop_size``
    and CLAHE-equalised. Where the detector finds no face on any frame tried,
    the tracker's box at the onset is used and ``box_from`` says ``track``.
    The flow CNN then gets the onset->apex flow of these crops, as the flow
    stage computes it for a clip.

    Args:
        intervals: ``video.spotted_intervals``.
        truth_intervals: ``video.truth_intervals`` (ground-truth micro
            intervals; empty without sidecars), cropped the same way.
        haar_cascade: ``video.haar_cascade``.
        face_params: ``params:casme2.face_detection`` (detector, Haar
            settings, ``margin``, ``crop_size``, ``clahe``).
        params: ``params:video.recognition`` (``frames_per_interval``).

    Returns:
        Per table (spotted, truth): arrays ``video``, ``interval`` ``(n,)``,
        ``frames`` ``(n, f, S, S)`` uint8 (apex first), ``onset`` and
        ``apex`` ``(n, S, S)``, ``crop_box`` ``(n, 4)`` in frame px and
        ``box_from`` ``(n,)`` (detector | track).
    """
    per = int(params["frames_per_interval"])
    classifier = _LazyClassifier(haar_cascade)
    return tuple(
        _crops_of(
            videos,
            face_tracks,
            table,
            classifier=classifier,
            face_params=face_params,
            per=per,
        )
        for table in (intervals, truth_intervals)
    )


class _LazyClassifier:
    """The cascade's OpenCV classifier, built on first use (``whole_frame`` needs none)."""

    def __init__(self, cascade: HaarCascade) -> None:
        self._cascade, self._classifier = cascade, None

    def __call__(self) -> Any:
        if self._classifier is None:
            self._classifier = self._cascade.classifier()
        return self._classifier


def training_source(data_source: dict[str, Any]) -> str:
    """``SYNTHETIC`` when a model's training data were synthetic, else its source."""
    source = str(data_source.get("source", "unknown"))
    return "SYNTHETIC" if "synthetic" in source.lower() else source


def _mean_of(rows: pd.DataFrame, column: str) -> float:
    return float(rows[column].mean()) if column in rows and len(rows) else float("nan")


def _loso_clip_rows(table: pd.DataFrame) -> pd.DataFrame:
    """LOSO rows of the models the video stage can run, at clip level where there is one.

    The video stage labels intervals (clips), so the clip-level figures are the
    ones that say how far an interval's label can be trusted.
    """
    rows = table[
        (table["protocol"] == "loso") & table["model"].isin(RECOGNITION_MODELS)
    ]
    if "level" in rows and (rows["level"] == "clip").any():
        rows = rows[rows["level"] == "clip"]
    return rows


def choose_recognition_model(
    metrics: pd.DataFrame,
    bootstrap_intervals: pd.DataFrame,
    setting: str,
    namespace: str,
) -> dict[str, Any]:
    """The model that labels the intervals of one namespace, with its LOSO UF1.

    Args:
        metrics: ``{namespace}.metrics`` (protocol, model, level, uf1, chance_uf1;
            one row per seed or the mean over seeds).
        bootstrap_intervals: ``{namespace}.bootstrap_intervals`` (uf1_low,
            uf1_high, confidence over subjects).
        setting: ``video.recognition.model``: ``auto`` picks the model of
            ``RECOGNITION_MODELS`` with the highest LOSO UF1 (mean over seeds);
            a model name is used as it is.
        namespace: for messages.

    Returns:
        ``model``, ``chosen_by``, ``loso_uf1``, ``uf1_low``, ``uf1_high``,
        ``confidence``, ``chance_uf1`` (NaN where the metrics lack the model).
    """
    loso = _loso_clip_rows(metrics)
    uf1 = loso.groupby("model", sort=True)["uf1"].mean()
    if setting == "auto":
        if uf1.dropna().empty:
            raise ValueError(
                f"video.recognition.model is auto but data/08_reporting/{namespace}/"
                f"metrics.csv has no LOSO row of {', '.join(RECOGNITION_MODELS)}: run "
                f"`kedro run --pipelines={namespace}`, or set the model "
                "(conf/base/parameters_video.yml)"
            )
        model = str(uf1.idxmax())  # ties: the first in name order
        chosen_by = "auto: highest LOSO UF1 of " + ", ".join(
            f"{m} {v:.3f}" for m, v in uf1.items()
        )
    elif setting in RECOGNITION_MODELS:
        model, chosen_by = setting, "set in video.recognition.model"
    else:
        raise ValueError(
            f"video.recognition.model must be auto or one of {RECOGNITION_MODELS}, "
            f"got {setting!r} (conf/base/parameters_video.yml)"
        )
    rows = loso[loso["model"] == model]
    bounds = _loso_clip_rows(bootstrap_intervals)
    bounds = bounds[bounds["model"] == model]
    return {
        "model": model,
        "chosen_by": chosen_by,
        "loso_uf1": _mean_of(rows, "uf1"),
        "uf1_low": _mean_of(bounds, "uf1_low"),
        "uf1_high": _mean_of(bounds, "uf1_high"),
        "confidence": _mean_of(bounds, "confidence"),
        "chance_uf1": _mean_of(rows, "chance_uf1"),
    }


def _trust_text(choice: dict[str, Any]) -> str:
    def fmt(value: float) -> str:
        return "?" if np.isnan(value) else f"{value:.2f}"

    level = "" if np.isnan(choice["confidence"]) else f"{choice['confidence']:.0%} "
    return (
        f"{choice['model']}, LOSO UF1 {fmt(choice['loso_uf1'])} "
        f"({level}interval {fmt(choice['uf1_low'])}-{fmt(choice['uf1_high'])}, "
        f"chance {fmt(choice['chance_uf1'])})"
    )


def describe_model_sources(  # noqa: PLR0913, PLR0917 - a Kedro node: catalog inputs, in order
    casme2_data_source: dict[str, Any],
    samm_data_source: dict[str, Any],
    casme2_metrics: pd.DataFrame,
    samm_metrics: pd.DataFrame,
    casme2_bootstrap_intervals: pd.DataFrame,
    samm_bootstrap_intervals: pd.DataFrame,
    params: dict[str, Any],
) -> dict[str, Any]:
    """What the two models were trained on, which model labels, and how well it generalises.

    Args:
        casme2_data_source, samm_data_source: ``{namespace}.data_source``.
        casme2_metrics, samm_metrics: ``{namespace}.metrics``.
        casme2_bootstrap_intervals, samm_bootstrap_intervals:
            ``{namespace}.bootstrap_intervals``.
        params: ``params:video.recognition`` (``model``: auto | a model name).

    Returns:
        ``{"casme2": ..., "samm": ..., "synthetic": bool, "recognition":
        {namespace: choose_recognition_model(...)}, "text": ...}``; ``text``
        (e.g. ``casme2: SYNTHETIC, flow_cnn, LOSO UF1 0.69 (95% interval
        0.61-0.73, chance 0.19); samm: ...``) goes into every table of this
        pipeline.
    """
    sources = {"casme2": casme2_data_source, "samm": samm_data_source}
    metrics = {"casme2": casme2_metrics, "samm": samm_metrics}
    bounds = {"casme2": casme2_bootstrap_intervals, "samm": samm_bootstrap_intervals}
    described: dict[str, Any] = {
        ns: training_source(sources[ns]) for ns in MODEL_NAMESPACES
    }
    described["synthetic"] = any(
        described[ns] == "SYNTHETIC" for ns in MODEL_NAMESPACES
    )
    described["recognition"] = {
        ns: choose_recognition_model(metrics[ns], bounds[ns], params["model"], ns)
        for ns in MODEL_NAMESPACES
    }
    described["text"] = "; ".join(
        f"{ns}: {described[ns]}, {_trust_text(described['recognition'][ns])}"
        for ns in MODEL_NAMESPACES
    )
    if described["synthetic"]:
        described["text"] = (
            "MODELS TRAINED ON SYNTHETIC DATA (" + described["text"] + "): labels "
            "show that the pipeline runs, not what anyone felt"
        )
    return described


def classify_intervals(  # noqa: PLR0913, PLR0917 - a Kedro node: catalog inputs, in order
    intervals: pd.DataFrame,
    interval_crops: dict[str, np.ndarray],
    truth_intervals: pd.DataFrame,
    truth_crops: dict[str, np.ndarray],
    recognition_models: dict[str, Any],
    casme2_vgg16_weights: Vgg16Weights,
    samm_vgg16_weights: Vgg16Weights,
    run_environment: dict[str, Any],
    model_sources: dict[str, Any],
    casme2_params: dict[str, Any],
    samm_params: dict[str, Any],
    class_maps: dict[str, dict[str, str]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each micro interval's label and probabilities from both namespaces' chosen models.

    Args:
        intervals: ``video.spotted_intervals``.
        interval_crops: their crops (``video.interval_crops``).
        truth_intervals, truth_crops: the ground-truth micro intervals and
            their crops, labelled the same way for ``evaluate_spotting``.
        recognition_models: ``video.recognition_models``: ``{namespace:
            {model: load}}``; only the model ``model_sources`` chose for a
            namespace is loaded, once.
        casme2_vgg16_weights, samm_vgg16_weights: each namespace's VGG-16
            weights (``{namespace}.vgg16_weights``; used by hybrid_micronet).
        run_environment: the machine (``cpu.flags`` decides ``precision: auto``).
        model_sources: ``video.model_sources`` (what the models were trained
            on; ``recognition.<ns>.model`` is the model that labels).
        casme2_params, samm_params: ``params:casme2`` / ``params:samm``
            (``training`` classes and image size; ``feature_extraction``
            precision, image, flow).
        class_maps: ``params:composite.labels.class_maps`` (per dataset,
            emotion -> negative/positive/surprise; anything else is
            ``others``); an interval's group is the argmax of its class
            probabilities summed per group (``core.emotion_groups``).

    Returns:
        ``intervals`` and ``truth_intervals`` plus, per namespace,
        ``<ns>_label``, ``<ns>_class3``, ``<ns>_prob_<class>`` (empty for
        macro intervals, which are not classified), ``face_box_from``
        (detector | track), ``model`` and ``models_trained_on``.
    """
    chosen = {ns: model_sources["recognition"][ns]["model"] for ns in MODEL_NAMESPACES}
    settings = {"casme2": casme2_params, "samm": samm_params}
    weights = {"casme2": casme2_vgg16_weights, "samm": samm_vgg16_weights}
    tables = [(intervals, interval_crops), (truth_intervals, truth_crops)]
    labelled = [
        table.merge(
            pd.DataFrame(
                {
                    "video": crops["video"],
                    "interval": crops["interval"],
                    "face_box_from": crops.get("box_from", []),
                }
            ),
            on=INTERVAL_KEYS,
            how="left",
        )
        for table, crops in tables
    ]
    flow_maps: dict[
        tuple[int, str], np.ndarray
    ] = {}  # TV-L1 once per table and flow setting
    for namespace in MODEL_NAMESPACES:
        training = settings[namespace]["training"]
        features = settings[namespace]["feature_extraction"]
        classes = [str(c) for c in training["classes"]]
        model_name = chosen[namespace]
        if not any(len(crops["video"]) for _, crops in tables):
            model = None  # nothing to classify: no model loaded
        else:
            model = recognition_models[namespace][model_name]()
            check_classes(model, classes, namespace)
        for position, (_, crops) in enumerate(tables):
            if model is None:
                probabilities = np.zeros((0, len(classes)), np.float32)
            elif model_name == "hybrid_micronet":
                probabilities = hybrid_probabilities(
                    model,
                    crops["frames"],
                    training,
                    features,
                    weights[namespace],
                    resolve_precision(
                        features["precision"], run_environment["cpu"]["flags"]
                    ),
                )
            else:
                key = (
                    position,
                    json.dumps(features["flow"], sort_keys=True, default=str),
                )
                if key not in flow_maps and len(crops["video"]):
                    flow_maps[key] = interval_flow_maps(
                        crops["onset"], crops["apex"], features["flow"]
                    )
                probabilities = flow_probabilities(
                    model,
                    crops["onset"],
                    crops["apex"],
                    training,
                    features,
                    maps=flow_maps.get(key),
                )
            table = pd.DataFrame(
                {"video": crops["video"], "interval": crops["interval"]}
            )
            table[f"{namespace}_label"] = (
                np.array(classes)[probabilities.argmax(axis=1)] if len(table) else []
            )
            grouped = group_probabilities(
                probabilities, classes, (class_maps or {}).get(namespace)
            )
            table[f"{namespace}_class3"] = (
                np.array(GROUPS)[grouped.argmax(axis=1)] if len(table) else []
            )
            for k, name in enumerate(classes):
                table[f"{namespace}_prob_{name}"] = (
                    probabilities[:, k] if len(table) else []
                )
            labelled[position] = labelled[position].merge(
                table, on=INTERVAL_KEYS, how="left"
            )
    for table in labelled:
        table["model"] = (
            chosen["casme2"]
            if len(set(chosen.values())) == 1
            else "; ".join(f"{ns}: {chosen[ns]}" for ns in MODEL_NAMESPACES)
        )
        table["models_trained_on"] = model_sources["text"]
    return labelled[0], labelled[1]


# ---- agreement and summary ---------------------------------------------------------------


def kappa_with_reason(x: pd.Series, y: pd.Series) -> tuple[float, str]:
    """Cohen's kappa of two label series, or NaN and why it is undefined.

    Kappa is undefined with fewer than 2 pairs, or when both raters use one
    and the same label everywhere (expected agreement 1: 0/0).
    """
    if len(x) == 0:
        return float("nan"), "no intervals"
    if len(x) < 2:  # noqa: PLR2004 - a pair of ratings at least
        return float("nan"), "one interval"
    labels = sorted(set(x) | set(y))
    if len(labels) < 2:  # noqa: PLR2004
        return float("nan"), f"both models say {labels[0]} everywhere"
    return float(cohen_kappa_score(x, y, labels=labels)), ""


def _agreement_row(scope: str, micro: pd.DataFrame) -> dict[str, Any]:
    a, b = micro["casme2_class3"].astype(str), micro["samm_class3"].astype(str)
    shared = a.isin(GROUPS[:3]) & b.isin(GROUPS[:3])
    kappa4, reason4 = kappa_with_reason(a, b)
    kappa3, reason3 = kappa_with_reason(a[shared], b[shared])
    return {
        "video": scope,
        "n_intervals": len(micro),
        "n_agree": int((a == b).sum()),
        "percent_agreement": float((a == b).mean() * 100) if len(micro) else np.nan,
        "cohen_kappa": kappa4,
        "kappa_undefined_because": reason4,
        "n_both_in_3_classes": int(shared.sum()),
        "n_agree_3_classes": int((a[shared] == b[shared]).sum()),
        "percent_agreement_3_classes": float((a[shared] == b[shared]).mean() * 100)
        if shared.any()
        else np.nan,
        "cohen_kappa_3_classes": kappa3,
        "kappa_3_classes_undefined_because": reason3,
    }


def measure_agreement(
    labelled_intervals: pd.DataFrame, model_sources: dict[str, Any]
) -> pd.DataFrame:
    """How far the CASME-II and SAMM models agree on the micro intervals.

    Both labels are mapped to negative / positive / surprise / others (the
    composite mapping; ``others`` is everything else). Percent agreement and
    Cohen's kappa (scikit-learn) over all four, and over the intervals both
    models put in the three shared classes; per video and ``ALL``, with ``n``.
    Kappa is NaN where it is undefined (fewer than 2 intervals or one label
    everywhere), with the reason in ``kappa_undefined_because`` /
    ``kappa_3_classes_undefined_because`` (empty where kappa is defined).
    """
    micro = labelled_intervals[labelled_intervals["kind"] == "micro"]
    rows = [_agreement_row(str(v), g) for v, g in micro.groupby("video", sort=True)]
    rows.append(_agreement_row("ALL", micro))
    table = pd.DataFrame(rows)
    table["models_trained_on"] = model_sources["text"]
    return table


def summarise_videos(
    video_index: pd.DataFrame,
    face_tracks: pd.DataFrame,
    labelled_intervals: pd.DataFrame,
    model_sources: dict[str, Any],
) -> pd.DataFrame:
    """Per video: status, duration, fps, seconds with a face, intervals, label counts per model."""
    rows = []
    for video in video_index.itertuples(index=False):
        track = face_tracks[face_tracks["video"] == video.video]
        spotted = labelled_intervals[labelled_intervals["video"] == video.video]
        micro = spotted[spotted["kind"] == "micro"]
        fps = float(video.fps) if video.fps and pd.notna(video.fps) else np.nan
        row = {
            "video": video.video,
            "status": video.status,
            "reason": video.reason,
            "duration_s": video.duration_s,
            "fps": fps,
            "width": video.width,
            "height": video.height,
            "seconds_with_face": float(track["face"].sum() / fps)
            if len(track)
            else 0.0,
            "micro_intervals": len(micro),
            "macro_intervals": int((spotted["kind"] == "macro").sum()),
        }
        for namespace in MODEL_NAMESPACES:
            column = f"{namespace}_label"
            counts = micro[column].value_counts() if column in micro else {}
            row[f"{namespace}_labels"] = ", ".join(
                f"{label}: {int(n)}" for label, n in dict(counts).items()
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    table["models_trained_on"] = model_sources["text"]
    return table


# ---- evaluation against ground truth ---------------------------------------------------


def evaluate_spotting_if_truth(  # noqa: PLR0913, PLR0917 - a Kedro node: catalog inputs, in order
    labelled_intervals: pd.DataFrame,
    truth_labelled: pd.DataFrame,
    ground_truth: pd.DataFrame,
    params: dict[str, Any],
    spotting_params: dict[str, Any],
    tracking_params: dict[str, Any],
) -> pd.DataFrame:
    """MEGC-style spotting metrics (``evaluation.evaluate_spotting``) where truth exists.

    ``truth_labelled`` (``video.truth_intervals_labelled``: the true micro
    intervals classified on their own) gives the recognition F1 without
    spotting's losses. Every row carries ``spotting_params_hash``, the hash of ``video.spotting``
    and ``video.tracking``: figures from different settings never mix.
    Videos without a ``<stem>.ground_truth.csv`` sidecar have no truth: with
    none at all the table is empty (and the report leaves the section out).
    """
    from .evaluation import evaluate_spotting, parameters_hash  # noqa: PLC0415

    parameters_id = parameters_hash(spotting_params, tracking_params)
    if ground_truth.empty:
        logger.info(
            "No ground-truth sidecar next to the videos: spotting not evaluated"
        )
        return pd.DataFrame(
            columns=[
                "video",
                "kind",
                "n_truth",
                "n_spotted",
                "f1",
                "spotting_params_hash",
            ]
        )
    videos = set(labelled_intervals["video"]) | set(ground_truth["video"])
    logger.info(
        "Evaluating spotting on %d video(s) with ground truth (spotting parameters %s)",
        len(videos),
        parameters_id,
    )
    return evaluate_spotting(
        labelled_intervals,
        ground_truth,
        params,
        parameters_id,
        truth_labelled=truth_labelled,
    )
