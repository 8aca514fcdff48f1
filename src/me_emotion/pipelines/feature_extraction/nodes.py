"""Face crops -> VGG-16 embeddings (originals + augmented variants) and onset->apex flow.

Both nodes read ``{namespace}.face_crops`` lazily, one clip at a time, so no
stage holds every clip's crops in memory; the model images of the hybrid
model's image branch are not stored either: ``augmentation.model_images``
rebuilds them from the crops for any ``(clip, aug_id)``, deterministically.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from me_emotion.datasets.clip_frames import ClipFrames
from me_emotion.progress import ProgressLog

from .augmentation import model_images
from .flow import FLOW_CHANNELS, flow_features
from .vgg16 import EMBEDDING_SIZE, build_vgg16, embed

logger = logging.getLogger(__name__)

EMBEDDING_COLUMNS = [f"vgg_{i:03d}" for i in range(EMBEDDING_SIZE)]
KEY_COLUMNS = [
    "dataset",
    "subject",
    "clip",
    "partition",
    "label",
    "frame",
    "position",
    "is_apex",
    "aug_id",
    "weights",
    "precision",
]


def _clips_to_use(face_boxes: pd.DataFrame, labelled_only: bool) -> pd.DataFrame:
    """The cropped clips to featurise (those in the class set when ``labelled_only``)."""
    clips = face_boxes.sort_values("partition")
    if labelled_only:
        skipped = int(clips["label"].isna().sum())
        if skipped:
            logger.info(
                "%d clip(s) outside the class set are not featurised "
                "(labelled_only: true in parameters_feature_extraction.yml)",
                skipped,
            )
        clips = clips[clips["label"].notna()]
    return clips


def _load(
    face_crops: dict[str, Callable[[], ClipFrames]], partition: str
) -> ClipFrames:
    if partition not in face_crops:
        raise KeyError(
            f"face_boxes lists clip {partition} but face_crops has no such partition; "
            "the face stage's outputs are out of step: re-run the face_detection nodes"
        )
    return face_crops[partition]()


def _image_batches(
    clips: pd.DataFrame,
    face_crops: dict[str, Callable[[], ClipFrames]],
    params: dict[str, Any],
    progress: ProgressLog,
) -> Iterator[tuple[list[dict[str, Any]], np.ndarray]]:
    """``(row keys, model images)`` in chunks of at least ``batch_size`` images."""
    keys: list[dict[str, Any]] = []
    images: list[np.ndarray] = []
    chunk = int(params["batch_size"])
    for clip in clips.itertuples(index=False):
        crops = _load(face_crops, clip.partition)
        for aug_id in range(int(params["augmentation"]["variants"]) + 1):
            images.append(
                model_images(
                    crops.frames,
                    clip.partition,
                    aug_id,
                    params["augmentation"],
                    params["image"],
                )
            )
            keys += [
                {
                    "dataset": clip.dataset,
                    "subject": clip.subject,
                    "clip": clip.clip,
                    "partition": clip.partition,
                    "label": clip.label,
                    "frame": int(number),
                    "position": position,
                    "is_apex": bool(number == crops.apex),
                    "aug_id": aug_id,
                }
                for position, number in enumerate(crops.frame_numbers)
            ]
        progress.step()
        if len(keys) >= chunk:
            yield keys, np.concatenate(images)
            keys, images = [], []
    if keys:
        yield keys, np.concatenate(images)


def embed_face_crops(
    face_crops: dict[str, Callable[[], ClipFrames]],
    face_boxes: pd.DataFrame,
    params: dict[str, Any],
) -> pd.DataFrame:
    """VGG-16 embeddings of every cropped frame, original and augmented.

    Args:
        face_crops: ``{subject/clip: loader}`` of 256x256 CLAHE crops.
        face_boxes: one row per cropped clip (subject, clip, partition, label).
        params: ``vgg16_weights``, ``precision``, ``batch_size``, ``jit_compile``,
            ``seed``,
            ``labelled_only``, ``image`` (size, border_px), ``augmentation``.

    Returns:
        One row per (clip, frame, ``aug_id``): keys, the weights and precision
        used, and the 512 features ``vgg_000..vgg_511`` (float32).
    """
    model, info = build_vgg16(
        params["vgg16_weights"],
        params["precision"],
        image_size=int(params["image"]["size"]),
        seed=int(params["seed"]),
    )
    clips = _clips_to_use(face_boxes, bool(params["labelled_only"]))
    progress = ProgressLog(
        f"{_dataset(clips)} embed_face_crops ({info['precision']})",
        len(clips),
        float(params["progress_every_s"]),
        logger,
    )
    tables = []
    for keys, images in _image_batches(clips, face_crops, params, progress):
        features = embed(
            model, images, int(params["batch_size"]), bool(params["jit_compile"])
        )
        table = pd.DataFrame(keys).assign(**info)
        tables.append(
            pd.concat(
                [table, pd.DataFrame(features, columns=EMBEDDING_COLUMNS)], axis=1
            )
        )
    if not tables:
        return pd.DataFrame(columns=KEY_COLUMNS + EMBEDDING_COLUMNS)
    return pd.concat(tables, ignore_index=True)[KEY_COLUMNS + EMBEDDING_COLUMNS]


def _dataset(clips: pd.DataFrame) -> str:
    return str(clips["dataset"].iloc[0]) if len(clips) else "(no clips)"


def extract_flow_features(
    face_crops: dict[str, Callable[[], ClipFrames]],
    face_boxes: pd.DataFrame,
    params: dict[str, Any],
) -> dict[str, np.ndarray]:
    """Onset->apex optical flow of every cropped clip, on a small grid.

    The flow runs from the onset crop to the apex crop. Where the sampling
    strategy did not keep the onset (``paper`` keeps a window around the apex),
    it runs from the earliest sampled frame, and ``flow_from`` records which.

    Returns:
        Arrays ``features`` ``(clips, 4, grid, grid)`` float32 (channels
        ``u, v, magnitude, strain``) and per-clip ``dataset, subject, clip,
        partition, label, flow_from, flow_to``.
    """
    flow_params = params["flow"]
    clips = _clips_to_use(face_boxes, bool(params["labelled_only"]))
    progress = ProgressLog(
        f"{_dataset(clips)} extract_flow_features ({flow_params['method']})",
        len(clips),
        float(params["progress_every_s"]),
        logger,
    )
    features, starts, ends = [], [], []
    for clip in clips.itertuples(index=False):
        crops = _load(face_crops, clip.partition)
        start = crops.position(crops.onset) if crops.onset in crops.frame_numbers else 0
        apex = crops.position(crops.apex)
        features.append(
            flow_features(crops.frames[start], crops.frames[apex], flow_params)
        )
        starts.append(int(crops.frame_numbers[start]))
        ends.append(int(crops.apex))
        progress.step()
    grid = int(flow_params["grid"])
    return {
        "features": np.stack(features)
        if features
        else np.zeros((0, 4, grid, grid), np.float32),
        "channels": np.array(FLOW_CHANNELS),
        "dataset": clips["dataset"].to_numpy(dtype=str),
        "subject": clips["subject"].to_numpy(dtype=str),
        "clip": clips["clip"].to_numpy(dtype=str),
        "partition": clips["partition"].to_numpy(dtype=str),
        "label": clips["label"].fillna("").to_numpy(dtype=str),
        "flow_from": np.array(starts, dtype=np.int64),
        "flow_to": np.array(ends, dtype=np.int64),
        "method": np.array(flow_params["method"]),
    }
