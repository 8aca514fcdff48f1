"""Clip index + release frames -> each clip's sampled 8-bit grayscale frames.

The frames come from ``{namespace}.raw_frames``, a ``PartitionedDataset`` over
the release root whose partitions are ``<subject>/<clip>/<file name>`` and load
lazily, so only the sampled frames are ever decoded. The output is returned as
``{subject/clip: callable}``: ``{namespace}.sampled_frames`` calls each one as
it writes that clip's partition, and ``prefetched`` decodes the next few clips
on a thread pool meanwhile, so only a few clips are in memory at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from me_emotion.core.clip_frames import ClipFrames, clip_partition
from me_emotion.fingerprint import Fingerprinted, fingerprint
from me_emotion.parameters import check_parameter_keys
from me_emotion.prefetch import prefetched, worker_count
from me_emotion.progress import ProgressLog

from .grayscale import to_gray_uint8
from .sampling import STRATEGIES, pick_frame_numbers

logger = logging.getLogger(__name__)

PARAMETERS_FILE = "conf/base/parameters_preprocessing.yml"
_MAX_LISTED = 5


def check_params(params: dict[str, Any], section: str) -> None:
    """Raise a ValueError naming the key and the YAML file for a bad parameter block."""
    check_parameter_keys(
        params,
        {"strategy", "release_fps", "paper", "workers", "progress_every_s"},
        section,
        PARAMETERS_FILE,
    )
    check_parameter_keys(
        params["paper"],
        {"target_fps", "frames_per_side"},
        f"{section}.paper",
        PARAMETERS_FILE,
    )
    if params["strategy"] not in STRATEGIES:
        raise ValueError(
            f"params:{section}.strategy '{params['strategy']}' is not one of "
            f"{sorted(STRATEGIES)} (see {PARAMETERS_FILE})"
        )
    paper = params["paper"]
    if not (params["release_fps"] > 0 and paper["target_fps"] > 0):
        raise ValueError(
            f"params:{section}: release_fps and paper.target_fps must be > 0"
        )
    if not (
        isinstance(paper["frames_per_side"], int) and paper["frames_per_side"] >= 0
    ):
        raise ValueError(
            f"params:{section}.paper.frames_per_side must be an integer >= 0, "
            f"got {paper['frames_per_side']!r}"
        )


def _read_clip(
    raw_frames: dict[str, Callable[[], np.ndarray]],
    progress: ProgressLog,
    *,
    frame_keys: list[str],
    frame_numbers: np.ndarray,
    onset: int,
    apex: int,
    offset: int,
) -> ClipFrames:
    """Decode a clip's sampled frames (each distinct file once) as grayscale."""
    images = {
        key: to_gray_uint8(raw_frames[key](), key) for key in dict.fromkeys(frame_keys)
    }
    shapes = {key: image.shape for key, image in images.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(
            f"Frames of one clip differ in size: {shapes}. Every frame of a clip "
            "must come from the same recording; re-copy the odd file(s)."
        )
    frames = np.stack([images[key] for key in frame_keys])
    progress.step()
    return ClipFrames(frames, frame_numbers, onset, apex, offset)


def _sampling_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters that change a clip's sampled frames (not threads, logging)."""
    return {k: v for k, v in params.items() if k not in {"workers", "progress_every_s"}}


def sample_frames(
    clip_index: pd.DataFrame,
    raw_frames: dict[str, Callable[[], np.ndarray]],
    params: dict[str, Any],
) -> dict[str, Callable[[], ClipFrames]]:
    """Each clip's frames chosen by a sampling strategy, read as 8-bit grayscale.

    Strategies (``params['strategy']``, see ``sampling.py``): ``paper``
    (``2 * frames_per_side + 1`` frames on a ``target_fps`` grid around the
    apex), ``onset_apex``, ``onset_apex_offset``, ``all`` (onset..offset).
    Every file the strategy needs is checked against ``raw_frames`` before any
    frame is decoded, so a clip index that no longer matches the folders fails
    at once rather than after hours.

    Args:
        clip_index: one row per clip (``subject``, ``clip``, ``onset``, ``apex``,
            ``offset``, ``frame_files`` = files of frames onset..offset in order).
        raw_frames: ``{"<subject>/<clip>/<file>": load}`` over the release root.
        params: ``strategy``, ``release_fps``, ``paper`` (``target_fps``,
            ``frames_per_side``), ``workers`` (decoding threads; null: every
            core) and ``progress_every_s``.

    Returns:
        ``{"<subject>/<clip>": callable -> ClipFrames}``, one per clip, decoded
        a few clips ahead of the save on ``workers`` threads, each with the
        fingerprint of its frame files and the sampling parameters (a clip whose
        fingerprint is unchanged since the last run is not decoded again); frames
        ``uint8 (N, H, W)`` at the release's resolution, with their frame numbers.

    Raises:
        ValueError: bad parameters, an empty clip index, or clip files that are
            not in ``raw_frames`` (the message lists them and the fix).
    """
    dataset = str(clip_index["dataset"].iloc[0]) if len(clip_index) else "clip_index"
    check_params(params, f"{dataset}.preprocessing")
    if clip_index.empty:
        raise ValueError(
            f"{dataset}: the clip index has no clips, so there are no frames to "
            f"sample; see {dataset}.ingestion_rejects for why every clip was rejected"
        )
    progress = ProgressLog(
        f"{dataset} sample_frames", len(clip_index), params["progress_every_s"], logger
    )
    clips: dict[str, Callable[[], ClipFrames]] = {}
    absent: list[str] = []
    for row in clip_index.itertuples(index=False):
        onset, apex, offset = int(row.onset), int(row.apex), int(row.offset)
        files = list(row.frame_files)
        if len(files) != offset - onset + 1:
            raise ValueError(
                f"{dataset} clip {row.subject}/{row.clip}: frame_files lists "
                f"{len(files)} files for onset..offset {onset}..{offset}; rebuild "
                "the clip index (kedro run --pipelines=" + dataset + ")"
            )
        numbers = pick_frame_numbers(onset, apex, offset, params)
        keys = [f"{row.subject}/{row.clip}/{files[n - onset]}" for n in numbers]
        absent.extend(key for key in dict.fromkeys(keys) if key not in raw_frames)
        clips[clip_partition(row.subject, row.clip)] = Fingerprinted(
            partial(
                _read_clip,
                raw_frames,
                progress,
                frame_keys=keys,
                frame_numbers=numbers,
                onset=onset,
                apex=apex,
                offset=offset,
            ),
            fingerprint(
                getattr(row, "frames_signature", None),
                keys,
                [int(n) for n in numbers],
                [onset, apex, offset],
                _sampling_settings(params),
            ),
        )
    if absent:
        more = (
            f" (+{len(absent) - _MAX_LISTED} more)" if len(absent) > _MAX_LISTED else ""
        )
        raise ValueError(
            f"{dataset}: {len(absent)} frame file(s) listed in the clip index are not "
            f"in {dataset}.raw_frames: {absent[:_MAX_LISTED]}{more}. The clip folders "
            f"changed after the clip index was built, or {dataset}.raw_frames and "
            f"{dataset}.frame_tree point at different roots: make both use "
            f"${{globals:{dataset}_root}} and re-run kedro run --pipelines={dataset}."
        )
    workers = worker_count(params["workers"])
    logger.info(
        "%s: sampling %d clips with strategy '%s' on %d threads",
        dataset,
        len(clips),
        params["strategy"],
        workers,
    )
    return prefetched(clips, workers)
