"""Face crops -> VGG-16 embeddings (originals + augmented variants) and onset->apex flow.

Both nodes read crops lazily (``{namespace}.face_crops``; the flow its
``{namespace}.flow_crops``, onset and apex), one clip at a time, so no
stage holds every clip's crops in memory; the model images of the hybrid
model's image branch are not stored either: ``augmentation.model_images``
rebuilds them from the crops for any ``(clip, aug_id)``, deterministically.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from me_emotion.core.augmentation import model_images
from me_emotion.core.clip_frames import ClipFrames, onset_apex_positions
from me_emotion.core.composite import composite_clip_labels
from me_emotion.core.flow import FLOW_CHANNELS, flow_features
from me_emotion.core.vgg16 import (
    EMBEDDING_COLUMNS,
    Vgg16Weights,
    build_vgg16,
    infer_batch,
    resolve_execution,
    resolve_precision,
    vgg_input,
)
from me_emotion.fingerprint import fingerprint, fingerprint_of
from me_emotion.prefetch import computed_ahead, parallel_map, worker_count
from me_emotion.progress import ProgressLog

logger = logging.getLogger(__name__)

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
    "clip_fingerprint",  # what produced the clip's rows (incremental re-runs)
]


def select_composite_clips(
    clip_index: pd.DataFrame,
    composite_list: pd.DataFrame | None,
    labels_params: dict[str, Any],
) -> pd.DataFrame:
    """This dataset's clips of the MEGC 2019 composite (``subject``, ``clip``).

    Featurised even when outside the dataset's own class set (SAMM's disgust,
    fear and sadness), so the composite gets every clip it lists or maps.
    """
    if not len(clip_index):
        return pd.DataFrame(columns=["subject", "clip"])
    dataset = str(clip_index["dataset"].iloc[0])
    if composite_list is not None:
        composite_list = composite_list[
            composite_list["dataset"].str.strip().str.lower() == dataset
        ]
    listed = composite_list is not None and len(composite_list) > 0
    if not listed and dataset not in labels_params["class_maps"]:
        logger.info(
            "%s is not part of the composite (no class map, no list row)", dataset
        )
        return pd.DataFrame(columns=["subject", "clip"])
    labels, _ = composite_clip_labels(
        {dataset: clip_index}, composite_list, labels_params
    )
    return labels[["subject", "clip"]]


def _clips_to_use(
    face_boxes: pd.DataFrame,
    labelled_only: bool,
    composite_clips: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The cropped clips to featurise: with ``labelled_only``, those in the class
    set or in the composite."""
    clips = face_boxes.sort_values("partition")
    if labelled_only:
        keep = clips["label"].notna()
        if composite_clips is not None and len(composite_clips):
            wanted = set(zip(composite_clips["subject"], composite_clips["clip"]))
            keep |= pd.Series(
                [key in wanted for key in zip(clips["subject"], clips["clip"])],
                index=clips.index,
            )
        skipped = int((~keep).sum())
        if skipped:
            logger.info(
                "%d clip(s) outside the class set and the composite are not "
                "featurised (labelled_only: true in parameters_feature_extraction.yml)",
                skipped,
            )
        clips = clips[keep]
    return clips


def _loader(
    face_crops: dict[str, Callable[[], ClipFrames]], partition: str
) -> Callable[[], ClipFrames]:
    if partition not in face_crops:
        raise KeyError(
            f"face_boxes lists clip {partition} but the crops have no such partition; "
            "the face stage's outputs are out of step: re-run the face_detection nodes"
        )
    return face_crops[partition]


def _clip_images(
    clip: Any, crops: ClipFrames, params: dict[str, Any]
) -> Iterator[tuple[dict[str, Any], np.ndarray]]:
    """``(row keys, model image)`` of every frame of one clip, original and augmented."""
    for aug_id in range(int(params["augmentation"]["variants"]) + 1):
        images = model_images(
            crops.frames,
            clip.partition,
            aug_id,
            params["augmentation"],
            params["image"],
        )
        for position, (number, image) in enumerate(zip(crops.frame_numbers, images)):
            yield (
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
                    "clip_fingerprint": clip.clip_fingerprint,
                },
                image,
            )


def _image_batches(
    clips: pd.DataFrame,
    face_crops: dict[str, Callable[[], ClipFrames]],
    params: dict[str, Any],
    progress: ProgressLog,
) -> Iterator[tuple[list[dict[str, Any]], np.ndarray]]:
    """``(row keys, model images)`` in batches of exactly ``batch_size`` images
    across clips (the last one shorter), so the model sees one batch shape."""
    size = int(params["batch_size"])
    keys: list[dict[str, Any]] = []
    images: list[np.ndarray] = []
    for clip in clips.itertuples(index=False):
        for key, image in _clip_images(
            clip, _loader(face_crops, clip.partition)(), params
        ):
            keys.append(key)
            images.append(image)
            if len(keys) == size:
                yield keys, np.stack(images)
                keys, images = [], []
        progress.step()
    if keys:
        yield keys, np.stack(images)


def _embedding_settings(
    weights: Vgg16Weights, precision: str, params: dict[str, Any]
) -> dict[str, Any]:
    """What changes an embedding besides its crops (not threads, batching, logging)."""
    return {
        "weights": weights.label,
        "weights_file": weights.identity,
        "precision": precision,
        "seed": int(params["seed"]) if weights.is_random else None,
        "image": params["image"],
        "augmentation": params["augmentation"],
    }


def _with_fingerprints(
    clips: pd.DataFrame,
    face_crops: dict[str, Callable[[], ClipFrames]],
    settings: dict[str, Any],
) -> pd.DataFrame:
    """``clips`` plus ``clip_fingerprint``: the crops' fingerprint and ``settings``
    (None where the crops carry none, so the clip is always computed)."""
    crops = [fingerprint_of(face_crops.get(p)) for p in clips["partition"]]
    return clips.assign(
        clip_fingerprint=[fingerprint(c, settings) if c else None for c in crops]
    )


def _reusable(previous: pd.DataFrame | None, clips: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``previous`` whose clip fingerprint is unchanged."""
    if previous is None or "clip_fingerprint" not in previous.columns:
        return pd.DataFrame(columns=KEY_COLUMNS + EMBEDDING_COLUMNS)
    wanted = dict(zip(clips["partition"], clips["clip_fingerprint"]))
    same = previous["partition"].map(wanted).eq(previous["clip_fingerprint"])
    return previous[same & previous["clip_fingerprint"].notna()]


def embed_face_crops(  # noqa: PLR0913, PLR0917 - a Kedro node: catalog inputs, in order
    face_crops: dict[str, Callable[[], ClipFrames]],
    face_boxes: pd.DataFrame,
    vgg16_weights: Vgg16Weights,
    run_environment: dict[str, Any],
    params: dict[str, Any],
    previous: pd.DataFrame | None = None,
    composite_clips: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """VGG-16 embeddings of every cropped frame, original and augmented.

    Images stream through the network in batches of ``batch_size`` across
    clips. A clip whose fingerprint (its crops' fingerprint, the weights file,
    the precision, image and augmentation settings) matches rows of
    ``previous`` keeps those rows: only new and changed clips are computed.

    Args:
        face_crops: ``{subject/clip: loader}`` of 256x256 CLAHE crops.
        face_boxes: one row per cropped clip (subject, clip, partition, label).
        vgg16_weights: the weights (``{namespace}.vgg16_weights``).
        run_environment: the machine (``cpu.flags`` decides ``precision: auto``).
        params: ``precision``, ``execution``, ``batch_size``,
            ``seed``, ``labelled_only``, ``image`` (size, border_px),
            ``augmentation``.
        previous: this output as the last run left it (None if absent).
        composite_clips: the dataset's composite clips (``subject``, ``clip``),
            featurised even outside the class set.

    Returns:
        One row per (clip, frame, ``aug_id``): keys, the weights and precision
        used, the clip's fingerprint and the 512 features ``vgg_000..vgg_511``
        (float32), in clip, ``aug_id``, frame order.
    """
    precision = resolve_precision(params["precision"], run_environment["cpu"]["flags"])
    clips = _clips_to_use(face_boxes, bool(params["labelled_only"]), composite_clips)
    clips = _with_fingerprints(
        clips, face_crops, _embedding_settings(vgg16_weights, precision, params)
    )
    reused = _reusable(previous, clips)
    todo = clips[~clips["partition"].isin(set(reused["partition"]))]
    logger.info(
        "%s embed_face_crops: %d clip(s) to embed, %d unchanged since the last run",
        _dataset(clips),
        len(todo),
        len(clips) - len(todo),
    )
    tables = [reused[KEY_COLUMNS + EMBEDDING_COLUMNS]] if len(reused) else []
    if len(todo):
        model, info = build_vgg16(
            vgg16_weights,
            precision,
            image_size=int(params["image"]["size"]),
            seed=int(params["seed"]),
        )
        tables += _embed_clips(todo, face_crops, model, info, params)
    if not tables:
        return pd.DataFrame(columns=KEY_COLUMNS + EMBEDDING_COLUMNS)
    table = pd.concat(tables, ignore_index=True)
    order = table["partition"].map({p: i for i, p in enumerate(clips["partition"])})
    table = table.assign(_order=order).sort_values(
        ["_order", "aug_id", "position"], kind="stable"
    )
    return table.reset_index(drop=True)[KEY_COLUMNS + EMBEDDING_COLUMNS]


def _embed_clips(
    clips: pd.DataFrame,
    face_crops: dict[str, Callable[[], ClipFrames]],
    model: Any,
    info: dict[str, str],
    params: dict[str, Any],
) -> list[pd.DataFrame]:
    """Embedding tables of ``clips``, one per batch."""
    execution = resolve_execution(params["execution"])
    batch_size = int(params["batch_size"])
    progress = ProgressLog(
        f"{_dataset(clips)} embed_face_crops ({info['precision']}, {execution})",
        len(clips),
        float(params["progress_every_s"]),
        logger,
    )
    tables = []
    # the next batch is cropped, augmented and preprocessed on a thread (OpenCV
    # and numpy release the GIL) while the network runs on this one
    batches = (
        (keys, vgg_input(images))
        for keys, images in _image_batches(clips, face_crops, params, progress)
    )
    for keys, batch in computed_ahead(batches, depth=2):
        features = infer_batch(model, batch, execution, batch_size)
        table = pd.DataFrame(keys).assign(**info)
        tables.append(
            pd.concat(
                [table, pd.DataFrame(features, columns=EMBEDDING_COLUMNS)], axis=1
            )
        )
    return tables


def _dataset(clips: pd.DataFrame) -> str:
    return str(clips["dataset"].iloc[0]) if len(clips) else "(no clips)"


def _clip_flow(
    load: Callable[[], ClipFrames], flow_params: dict[str, Any]
) -> tuple[np.ndarray, int, int]:
    """``(features, flow_from, flow_to)`` of one clip: from its onset crop if kept
    (the face stage drops a faceless one), else its earliest crop, to its apex."""
    crops = load()
    start, apex = onset_apex_positions(crops)
    features = flow_features(crops.frames[start], crops.frames[apex], flow_params)
    return features, int(crops.frame_numbers[start]), int(crops.apex)


def _previous_flows(
    previous: dict[str, np.ndarray] | None, clips: pd.DataFrame
) -> dict[str, tuple[np.ndarray, int, int]]:
    """``{partition: (features, flow_from, flow_to)}`` of unchanged clips."""
    if not previous or "clip_fingerprint" not in previous:
        return {}
    wanted = dict(zip(clips["partition"], clips["clip_fingerprint"]))
    return {
        partition: (features, int(start), int(end))
        for partition, fingerprint, features, start, end in zip(
            previous["partition"],
            previous["clip_fingerprint"],
            previous["features"],
            previous["flow_from"],
            previous["flow_to"],
        )
        if fingerprint and wanted.get(partition) == fingerprint
    }


def extract_flow_features(
    flow_crops: dict[str, Callable[[], ClipFrames]],
    face_boxes: pd.DataFrame,
    params: dict[str, Any],
    previous: dict[str, np.ndarray] | None = None,
    composite_clips: pd.DataFrame | None = None,
) -> dict[str, np.ndarray]:
    """Onset->apex optical flow of every cropped clip, on a small grid.

    ``flow_crops`` hold each clip's annotated onset and apex frames read from
    the release (``sample_flow_frames``), cut with the clip's face box, whatever
    the sampling strategy of ``face_crops``. The flow runs from the onset crop
    to the apex crop; only where the face stage dropped a faceless onset does
    it start at the next kept frame, and ``flow_from`` records which.
    Clips run on ``workers`` threads (OpenCV releases the GIL); a clip whose
    fingerprint (its crops', the flow settings) matches ``previous`` keeps
    its flow.

    Returns:
        Arrays ``features`` ``(clips, 4, grid, grid)`` float32 (channels
        ``u, v, magnitude, strain``) and per-clip ``dataset, subject, clip,
        partition, label, flow_from, flow_to, clip_fingerprint``.
    """
    flow_params = params["flow"]
    clips = _clips_to_use(face_boxes, bool(params["labelled_only"]), composite_clips)
    clips = _with_fingerprints(clips, flow_crops, {"flow": flow_params})
    reused = _previous_flows(previous, clips)
    todo = [p for p in clips["partition"] if p not in reused]
    workers = worker_count(params["workers"])
    progress = ProgressLog(
        f"{_dataset(clips)} extract_flow_features ({flow_params['method']}, "
        f"{workers} threads)",
        len(todo),
        float(params["progress_every_s"]),
        logger,
    )
    logger.info(
        "%s extract_flow_features: %d clip(s) to compute, %d unchanged since the "
        "last run",
        _dataset(clips),
        len(todo),
        len(reused),
    )
    loaders = [_loader(flow_crops, partition) for partition in todo]

    computed = parallel_map(
        progress.counting(partial(_clip_flow, flow_params=flow_params)),
        loaders,
        workers,
    )
    flows = {**reused, **dict(zip(todo, computed))}
    ordered = [flows[p] for p in clips["partition"]]
    grid = int(flow_params["grid"])
    return {
        "features": np.stack([f for f, _, _ in ordered])
        if ordered
        else np.zeros((0, 4, grid, grid), np.float32),
        "channels": np.array(FLOW_CHANNELS),
        "dataset": clips["dataset"].to_numpy(dtype=str),
        "subject": clips["subject"].to_numpy(dtype=str),
        "clip": clips["clip"].to_numpy(dtype=str),
        "partition": clips["partition"].to_numpy(dtype=str),
        "label": clips["label"].fillna("").to_numpy(dtype=str),
        "flow_from": np.array([s for _, s, _ in ordered], dtype=np.int64),
        "flow_to": np.array([e for _, _, e in ordered], dtype=np.int64),
        "clip_fingerprint": clips["clip_fingerprint"].fillna("").to_numpy(dtype=str),
        "method": np.array(flow_params["method"]),
    }


def embed_onset_apex(  # noqa: PLR0913, PLR0917 - a Kedro node: catalog inputs, in order
    flow_crops: dict[str, Callable[[], ClipFrames]],
    face_boxes: pd.DataFrame,
    vgg16_weights: Vgg16Weights,
    run_environment: dict[str, Any],
    params: dict[str, Any],
    composite_clips: pd.DataFrame | None = None,
) -> dict[str, np.ndarray]:
    """VGG-16 embeddings of each clip's onset and apex crops (the flow's two frames).

    The onset-relative HybridMicroNet reads their difference (apex minus
    onset), which cancels what the two frames share: the person. The crops
    are ``flow_crops`` (the frames the flow reads, same onset fallback as
    :func:`_clip_flow`), embedded untouched (``aug_id`` 0) with the same
    weights, precision and model image as :func:`embed_face_crops`.

    Returns:
        Per clip ``partition``, ``onset_embedding`` and ``apex_embedding``
        ``(clips, 512)`` float32, ``flow_from`` / ``flow_to`` (the frames
        embedded) and ``weights`` (the weights' label).
    """
    precision = resolve_precision(params["precision"], run_environment["cpu"]["flags"])
    clips = _clips_to_use(face_boxes, bool(params["labelled_only"]), composite_clips)
    partitions = clips["partition"].astype(str).tolist()
    size = len(EMBEDDING_COLUMNS)
    onset = np.zeros((len(partitions), size), np.float32)
    apex = np.zeros((len(partitions), size), np.float32)
    frames = np.zeros((len(partitions), 2), np.int64)
    info = {"weights": vgg16_weights.label}
    if partitions:
        model, info = build_vgg16(
            vgg16_weights,
            precision,
            image_size=int(params["image"]["size"]),
            seed=int(params["seed"]),
        )
        execution = resolve_execution(params["execution"])
        batch_clips = max(1, int(params["batch_size"]) // 2)
        for first in range(0, len(partitions), batch_clips):
            chunk = partitions[first : first + batch_clips]
            images = []
            for i, partition in enumerate(chunk, start=first):
                crops = _loader(flow_crops, partition)()
                start, peak = onset_apex_positions(crops)
                frames[i] = crops.frame_numbers[start], crops.apex
                images.append(
                    model_images(
                        crops.frames[[start, peak]],
                        partition,
                        0,
                        params["augmentation"],
                        params["image"],
                    )
                )
            features = infer_batch(
                model,
                vgg_input(np.concatenate(images)),
                execution,
                int(params["batch_size"]),
            )
            onset[first : first + len(chunk)] = features[0::2]
            apex[first : first + len(chunk)] = features[1::2]
    logger.info(
        "%s embed_onset_apex: %d clip(s), onset and apex crops",
        _dataset(clips),
        len(partitions),
    )
    return {
        "partition": np.array(partitions, dtype=str),
        "onset_embedding": onset,
        "apex_embedding": apex,
        "flow_from": frames[:, 0],
        "flow_to": frames[:, 1],
        "weights": np.array(str(info["weights"])),
    }
