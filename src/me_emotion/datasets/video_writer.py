"""A folder of video files written frame by frame with ``cv2.VideoWriter``.

Saves ``{file name: frame source}``; a frame source has ``fps``,
``frame_size`` (width, height), ``frame_count`` and ``frames()`` (an iterator
of ``uint8`` BGR images). Frames are encoded as they are produced, so a video
is never held in memory; several videos are written in parallel processes.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from kedro.io import AbstractDataset, DatasetError

logger = logging.getLogger(__name__)

CODECS = {".mp4": "mp4v", ".avi": "MJPG"}


class FrameSource(Protocol):
    fps: float
    frame_size: tuple[int, int]
    frame_count: int

    def frames(self): ...


def write_video(path: Path, source: FrameSource) -> float:
    """Encode ``source`` into ``path`` one frame at a time; returns seconds taken."""
    start = time.perf_counter()
    codec = CODECS.get(path.suffix.lower())
    if codec is None:
        raise DatasetError(
            f"Cannot write '{path}': use one of the extensions {sorted(CODECS)}"
        )
    width, height = (int(v) for v in source.frame_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    writer = cv2.VideoWriter(
        str(partial), cv2.VideoWriter_fourcc(*codec), float(source.fps), (width, height)
    )
    if not writer.isOpened():
        raise DatasetError(
            f"OpenCV cannot open a '{codec}' writer for '{path}': this OpenCV build "
            "lacks the codec; choose the other container (mp4 <-> avi)"
        )
    written = 0
    try:
        for produced in source.frames():
            frame = np.asarray(produced)
            if frame.shape[:2] != (height, width) or frame.dtype != np.uint8:
                raise DatasetError(
                    f"frame {written} of '{path.name}' is {frame.shape} {frame.dtype}, "
                    f"expected ({height}, {width}, 3) uint8"
                )
            writer.write(frame)
            written += 1
    finally:
        writer.release()
    if written != source.frame_count:
        partial.unlink(missing_ok=True)
        raise DatasetError(
            f"'{path.name}' got {written} frames, its source declared "
            f"{source.frame_count}"
        )
    partial.replace(path)  # a crashed run never leaves a truncated video behind
    return time.perf_counter() - start


class VideoFolderWriterDataset(
    AbstractDataset[dict[str, FrameSource], dict[str, Path]]
):
    """Writes ``{file name: frame source}`` as videos in ``path``.

    Loading returns ``{file name: path}`` of the videos in the folder (reading
    frames is the video pipeline's job).

    Args:
        path: the folder.
        workers: processes writing videos in parallel (1: in this process).
        overwrite: delete videos of the folder that are not in the saved data,
            and ``<stem>.*.csv`` sidecars whose stem is not among them.
    """

    def __init__(
        self,
        path: str,
        workers: int = 2,
        overwrite: bool = True,
        metadata: dict[str, Any] | None = None,
    ):
        self._path = Path(path)
        self._workers = max(int(workers), 1)
        self._overwrite = overwrite
        self.metadata = metadata

    def _videos(self) -> list[Path]:
        if not self._path.is_dir():
            return []
        return sorted(
            p
            for p in self._path.iterdir()
            if p.suffix.lower() in CODECS and p.is_file()
        )

    def load(self) -> dict[str, Path]:
        videos = self._videos()
        if not videos:
            raise DatasetError(
                f"No video files in '{self._path}': run "
                "`kedro run --pipelines=synthetic_videos` first"
            )
        return {p.name: p for p in videos}

    def save(self, data: dict[str, FrameSource]) -> None:
        self._path.mkdir(parents=True, exist_ok=True)
        if self._overwrite:
            for stale in self._videos():
                if stale.name not in data:
                    stale.unlink()
            stems = {Path(name).stem for name in data}
            for sidecar in self._path.glob("*.*.csv"):  # <stem>.ground_truth.csv
                if sidecar.name.split(".")[0] not in stems:
                    sidecar.unlink()  # the ground truth of a video no longer written
        # longest first, so parallel workers finish together
        names = sorted(
            data,
            key=lambda n: -data[n].frame_count * np.prod(data[n].frame_size),
        )
        paths = [self._path / name for name in names]
        workers = min(self._workers, len(names))
        start = time.perf_counter()
        if workers <= 1:
            for path, name in zip(paths, names):
                seconds = write_video(path, data[name])
                logger.info("wrote %s in %.1f s", path, seconds)
        else:
            # spawn: forking a process that already runs TensorFlow threads can hang
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                futures = [
                    pool.submit(write_video, path, data[name])
                    for path, name in zip(paths, names)
                ]
                for path, future in zip(paths, futures):
                    logger.info("wrote %s in %.1f s", path, future.result())
        logger.info(
            "%d videos in %.1f s (%d workers)",
            len(names),
            time.perf_counter() - start,
            workers,
        )

    def _exists(self) -> bool:
        return bool(self._videos())

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "workers": self._workers}
