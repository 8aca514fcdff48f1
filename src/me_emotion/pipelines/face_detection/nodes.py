"""Sampled frames -> one face box per clip (Haar) -> 256x256 CLAHE face crops.

Following the field's convention, the face is detected once per clip, on its
first sampled frame (the onset frame for every strategy but ``paper``, where
it is the earliest frame of the window around the apex), and the same box
crops every frame: micro-movements are smaller than the jitter of a per-frame
box. ``detect_faces`` runs the cascade on a thread pool over clips (OpenCV
releases the GIL) and returns the box and reject tables; ``crop_faces`` then
returns lazily-saved partitions, computed a few clips ahead on the same number
of threads while ``{namespace}.face_crops`` writes them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from me_emotion.core.clip_frames import ClipFrames, clip_partition
from me_emotion.core.face_box import clip_box, haar_settings, training_crops
from me_emotion.core.haar import HaarCascade, HaarSettings, frames_without_face
from me_emotion.fingerprint import Fingerprinted, fingerprint, fingerprint_of
from me_emotion.prefetch import parallel_map, prefetched, worker_count
from me_emotion.progress import ProgressLog

from .contact_sheet import draw_sheet

logger = logging.getLogger(__name__)

PARAMETERS_FILE = "conf/base/parameters_face_detection.yml"
BOX_COLUMNS = [
    "dataset",
    "subject",
    "clip",
    "partition",
    "label",
    "emotion",
    "n_frames",
    "frame_height",
    "frame_width",
    "detector",
    "detected_on_frame",
    "frames_tried",
    "n_faces",
    "face_x",
    "face_y",
    "face_w",
    "face_h",
    "crop_x",
    "crop_y",
    "crop_w",
    "crop_h",
    "dropped_frames",
]
_BOX_INTEGERS = [
    "n_frames",
    "frame_height",
    "frame_width",
    "detected_on_frame",
    "frames_tried",
    "n_faces",
    "face_x",
    "face_y",
    "face_w",
    "face_h",
    "crop_x",
    "crop_y",
    "crop_w",
    "crop_h",
]
REJECT_COLUMNS = [
    "dataset",
    "subject",
    "clip",
    "partition",
    "label",
    "emotion",
    "n_frames",
    "frames_tried",
    "frame",
    "reason",
]


def _dataset_name(table: pd.DataFrame) -> str:
    return str(table["dataset"].iloc[0]) if len(table) else "dataset"


def _faceless_frames(
    clip: ClipFrames,
    crop: tuple[int, int, int, int],
    face: tuple[int, int, int, int],
    *,
    cascade: Callable[[], Any],
    settings: HaarSettings,
    base: dict[str, Any],
    params: dict[str, Any],
) -> tuple[list[int], list[dict[str, Any]]]:
    """Frame numbers without a face in the clip's box, and one reject row per frame."""
    if not params["every_frame"]["check"] or params["detector"] != "haar":
        return [], []
    positions = frames_without_face(
        clip.frames, crop, min(face[2], face[3]), cascade(), settings
    )
    numbers = sorted({int(clip.frame_numbers[p]) for p in positions})
    rows = [
        {
            **base,
            "frames_tried": 0,
            "frame": number,
            "reason": (
                "no face inside the clip's face box on this frame (black, blurred "
                "or turned-away?): dropped from the clip"
            ),
        }
        for number in numbers
    ]
    return numbers, rows


def _clip_without_faceless_frames(
    clip: ClipFrames, dropped: list[int], params: dict[str, Any]
) -> str | None:
    """Why a clip is rejected once its faceless frames are dropped, or None."""
    if not dropped:
        return None
    if clip.apex in dropped:
        return (
            f"no face on the apex frame {clip.apex} (frames without one: {dropped}); "
            "the clip has no usable apex"
        )
    before_apex = {int(n) for n in clip.frame_numbers if n < clip.apex}
    if before_apex and before_apex <= set(dropped):
        return (
            f"no face on any sampled frame before the apex {clip.apex} (frames "
            f"without one: {dropped}): the onset->apex flow would have no start"
        )
    kept = len(set(clip.frame_numbers.tolist()) - set(dropped))
    minimum = int(params["every_frame"]["min_frames"])
    if kept < minimum:
        return (
            f"only {kept} sampled frame(s) show a face (frames without one: {dropped}); "
            f"every_frame.min_frames is {minimum} in {PARAMETERS_FILE}"
        )
    return None


class _ThreadClassifier:
    """One OpenCV classifier per thread (they are not thread-safe), built from
    the cascade's XML on first use; pickles as the cascade alone (Dask)."""

    def __init__(self, cascade: HaarCascade):
        self._cascade = cascade
        self._local = threading.local()

    def __call__(self) -> Any:
        if not hasattr(self._local, "classifier"):
            self._local.classifier = self._cascade.classifier()
        return self._local.classifier

    def __getstate__(self) -> dict[str, Any]:
        return {"_cascade": self._cascade}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._cascade = state["_cascade"]
        self._local = threading.local()


def _locate_face(
    row_and_load: tuple[Any, Callable[[], ClipFrames]],
    cascade: Callable[[], Any],
    settings: HaarSettings,
    params: dict[str, Any],
) -> list[dict[str, Any]]:
    """A box row or a clip reject row (with ``reason``), and frame reject rows.

    Module level and given plain data, so a Dask cluster can run it
    (``parallel_map``).
    """
    row, load = row_and_load
    clip = load()
    base = {
        "dataset": row.dataset,
        "subject": row.subject,
        "clip": row.clip,
        "partition": clip_partition(row.subject, row.clip),
        "label": row.label,
        "emotion": row.emotion,
        "n_frames": len(clip.frames),
    }
    if not len(clip.frames):
        return [
            {
                **base,
                "frames_tried": 0,
                "reason": "the clip has no sampled frames (empty clip folder?)",
            }
        ]
    height, width = clip.frames.shape[1:]
    found = clip_box(clip.frames, clip.frame_numbers, params, cascade)
    if found.face is None:
        return [
            {
                **base,
                "frames_tried": len(found.frames_tried),
                "reason": (
                    f"no face found by the Haar cascade on frame(s) "
                    f"{found.frames_tried} of {len(clip.frames)} sampled; look at "
                    f"the frames, or lower min_neighbors / min_size in "
                    f"{PARAMETERS_FILE}"
                ),
            }
        ]
    if found.n_faces > 1:
        logger.info(
            "%s %s: %d faces on frame %d, kept the largest (%dx%d px)",
            row.dataset,
            base["partition"],
            found.n_faces,
            found.frame_number,
            found.face[2],
            found.face[3],
        )
    face, crop, frame_number = found.face, found.crop, found.frame_number
    tried, n_faces = len(found.frames_tried), found.n_faces
    dropped, frame_rejects = _faceless_frames(
        clip, crop, face, cascade=cascade, settings=settings, base=base, params=params
    )
    problem = _clip_without_faceless_frames(clip, dropped, params)
    if problem is not None:
        return [*frame_rejects, {**base, "frames_tried": tried, "reason": problem}]
    return [
        *frame_rejects,
        {
            **base,
            "frame_height": height,
            "frame_width": width,
            "detector": params["detector"],
            "detected_on_frame": frame_number,
            "frames_tried": tried,
            "n_faces": n_faces,
            **dict(zip(["face_x", "face_y", "face_w", "face_h"], face)),
            **dict(zip(["crop_x", "crop_y", "crop_w", "crop_h"], crop)),
            "dropped_frames": dropped,
        },
    ]


def detect_faces(
    clip_index: pd.DataFrame,
    sampled_frames: dict[str, Callable[[], ClipFrames]],
    haar_cascade: HaarCascade,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The face box of every clip, found with OpenCV's Haar cascade on all cores.

    The cascade runs on the clip's first sampled frame; if it finds no face
    there, on later sampled frames (at most ``max_frames_tried``); if none has
    a face, the clip becomes a reject row. Of several faces the largest is
    kept, and logged. The crop box is that face squared, grown by ``margin``
    on each side and shifted inside the frame. ``detector: whole_frame``
    skips detection (for pre-cropped releases such as CASME-II ``Cropped``).

    Args:
        clip_index: one row per clip (``dataset``, ``subject``, ``clip``,
            ``label``, ``emotion``).
        sampled_frames: ``{"<subject>/<clip>": load -> ClipFrames}``.
        haar_cascade: the cascade (``{namespace}.haar_cascade``; unused by
            ``detector: whole_frame``).
        params: the ``face_detection`` block (parameters_face_detection.yml);
            ``workers`` threads (null: every core), progress logged every
            ``progress_every_s`` seconds.

    Returns:
        ``face_boxes`` (``BOX_COLUMNS``: detected face and crop box in frame
        pixels, frame it was found on) and ``face_rejects`` (``REJECT_COLUMNS``,
        with the reason), both in clip index order.

    Raises:
        ValueError: bad parameters, or a clip of the index without sampled frames.
    """
    dataset = _dataset_name(clip_index)
    partitions = [
        clip_partition(s, c) for s, c in zip(clip_index["subject"], clip_index["clip"])
    ]
    missing = [key for key in partitions if key not in sampled_frames]
    if missing:
        raise ValueError(
            f"{dataset}: {len(missing)} clip(s) of the clip index have no sampled "
            f"frames, e.g. {missing[:5]}; re-run sample_frames "
            f"(kedro run --pipelines={dataset})"
        )
    settings = haar_settings(params)
    workers = worker_count(params["workers"])
    progress = ProgressLog(
        f"{dataset} detect_faces ({workers} threads)",
        len(clip_index),
        params["progress_every_s"],
        logger,
    )
    clips = [
        (SimpleNamespace(**row._asdict()), sampled_frames[partition])
        for row, partition in zip(clip_index.itertuples(index=False), partitions)
    ]
    per_clip = parallel_map(
        progress.counting(
            partial(
                _locate_face,
                cascade=_ThreadClassifier(haar_cascade),
                settings=settings,
                params=params,
            )
        ),
        clips,
        workers,
    )
    rows = [row for clip_rows in per_clip for row in clip_rows]
    boxes = pd.DataFrame([r for r in rows if "reason" not in r], columns=BOX_COLUMNS)
    rejects = pd.DataFrame([r for r in rows if "reason" in r], columns=REJECT_COLUMNS)
    boxes = boxes.astype({column: "int64" for column in _BOX_INTEGERS})
    rejects = rejects.astype(
        {"n_frames": "int64", "frames_tried": "int64", "frame": "Int64"}
    )
    clip_rejects = rejects[rejects["frame"].isna()]
    frame_rejects = rejects[rejects["frame"].notna()]
    logger.info(
        "%s: a face in %d of %d clips (%.1f%%), %d rejected, %d faceless frame(s) "
        "dropped%s",
        dataset,
        len(boxes),
        len(clip_index),
        100 * len(boxes) / max(len(clip_index), 1),
        len(clip_rejects),
        len(frame_rejects),
        f" (see {dataset}.face_rejects)" if len(rejects) else "",
    )
    for reject in clip_rejects.head(5).itertuples(
        index=False
    ):  # the table has them all
        logger.warning("%s %s rejected: %s", dataset, reject.partition, reject.reason)
    for reject in frame_rejects.head(5).itertuples(index=False):
        logger.warning(
            "%s %s frame %d: %s", dataset, reject.partition, reject.frame, reject.reason
        )
    return boxes, rejects


def _crop_clip(  # noqa: PLR0913 - bound with functools.partial per clip
    load: Callable[[], ClipFrames],
    box: tuple[int, int, int, int],
    frame_shape: tuple[int, int],
    params: dict[str, Any],
    progress: ProgressLog,
    *,
    dropped_frames: list[int],
) -> ClipFrames:
    clip = load()
    if len(dropped_frames):  # faceless frames (face_rejects) leave the clip
        keep = ~np.isin(clip.frame_numbers, np.asarray(dropped_frames))
        clip = ClipFrames(
            clip.frames[keep],
            clip.frame_numbers[keep],
            clip.onset,
            clip.apex,
            clip.offset,
            clip.crop_box,
        )
    if clip.frames.shape[1:] != frame_shape:
        raise ValueError(
            f"sampled frames are {clip.frames.shape[1:]} px but were {frame_shape} when "
            "detect_faces ran; re-run the face stage (kedro run --pipelines=<dataset>)"
        )
    crops = training_crops(clip.frames, box, params)
    progress.step()
    return ClipFrames(
        crops, clip.frame_numbers, clip.onset, clip.apex, clip.offset, box
    )


def crop_faces(
    sampled_frames: dict[str, Callable[[], ClipFrames]],
    face_boxes: pd.DataFrame,
    params: dict[str, Any],
) -> dict[str, Callable[[], ClipFrames]]:
    """Each clip's frames cut to its face box, resized to ``crop_size``, CLAHE'd.

    Order: crop, resize (``INTER_AREA`` when shrinking), CLAHE (``clahe``:
    ``clip_limit``, ``tile_grid_size``).

    Args:
        sampled_frames: ``{"<subject>/<clip>": load -> ClipFrames}``.
        face_boxes: ``detect_faces``' table; one crop partition per row.
        params: the ``face_detection`` block.

    Returns:
        ``{"<subject>/<clip>": callable -> ClipFrames}``, evaluated as
        ``face_crops`` saves them, a few clips ahead on ``workers`` threads
        (only the clips whose fingerprint - sampled frames, box, crop size,
        CLAHE - changed since the last run):
        ``uint8 (N, crop_size, crop_size)`` crops with the same
        ``frame_numbers``/onset/apex/offset as the sampled frames, and
        ``crop_box`` in frame pixels.
    """
    dataset = _dataset_name(face_boxes)
    workers = worker_count(params["workers"])
    progress = ProgressLog(
        f"{dataset} crop_faces ({workers} threads)",
        len(face_boxes),
        params["progress_every_s"],
        logger,
    )
    crops: dict[str, Callable[[], ClipFrames]] = {}
    for row in face_boxes.itertuples(index=False):
        if row.partition not in sampled_frames:
            raise ValueError(
                f"{dataset}: face_boxes lists clip {row.partition}, which has no sampled "
                f"frames; re-run the face stage (kedro run --pipelines={dataset})"
            )
        box = (int(row.crop_x), int(row.crop_y), int(row.crop_w), int(row.crop_h))
        frames = sampled_frames[row.partition]
        dropped = [int(number) for number in row.dropped_frames]
        crops[row.partition] = Fingerprinted(
            partial(
                _crop_clip,
                frames,
                box,
                (int(row.frame_height), int(row.frame_width)),
                params,
                progress,
                dropped_frames=dropped,
            ),
            fingerprint(
                fingerprint_of(frames),
                box,
                params["crop_size"],
                params["clahe"],
                dropped,
            )
            if fingerprint_of(frames)
            else None,
        )
    return prefetched(crops, workers)


def draw_contact_sheet(
    face_crops: dict[str, Callable[[], ClipFrames]],
    face_boxes: pd.DataFrame,
    face_rejects: pd.DataFrame,
    params: dict[str, Any],
) -> np.ndarray:
    """A contact sheet of apex-frame face crops: a seeded sample per class.

    Args:
        face_crops: ``{"<subject>/<clip>": load -> ClipFrames}``; only the
            sampled clips are loaded.
        face_boxes: clips with a face (``label``, ``emotion``, ``partition``).
        face_rejects: rejected clips (counted in the title).
        params: the ``face_detection`` block; ``contact_sheet``:
            ``clips_per_class``, ``tile_px``, ``seed``.

    Returns:
        A BGR ``uint8`` image: one row per class label, then one per raw emotion
        of the clips outside the class set; captions ``subject/clip``.
    """
    dataset = (
        _dataset_name(face_boxes) if len(face_boxes) else _dataset_name(face_rejects)
    )
    sheet = params["contact_sheet"]
    per_class = int(sheet["clips_per_class"])
    rng = np.random.default_rng(int(sheet["seed"]))
    # Clips outside the class set (label null) get a row per raw emotion, last.
    unlabelled = face_boxes["label"].isna()
    classes = face_boxes.assign(
        unlabelled=unlabelled,
        class_name=face_boxes["label"]
        .where(~unlabelled, face_boxes["emotion"])
        .astype(str),
    )
    rows = []
    for (outside, name), group in classes.groupby(
        ["unlabelled", "class_name"], sort=True
    ):
        partitions = sorted(group["partition"])
        chosen = sorted(
            rng.choice(partitions, size=min(per_class, len(partitions)), replace=False)
        )
        tiles = [(key, face_crops[key]().apex_frame) for key in chosen]
        count = f"{len(partitions)} clip{'s' if len(partitions) > 1 else ''}"
        rows.append((f"{name}\n{count}{', no label' if outside else ''}", tiles))
    title = (
        f"{dataset}: apex face crops, up to {per_class} per class; "
        f"{len(face_boxes)} clips with a face, {len(face_rejects)} rejected"
    )
    return draw_sheet(rows, title, int(sheet["tile_px"]), per_class)
