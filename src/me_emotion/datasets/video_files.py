"""Video files and frame folders as lazy readers, plus their ground-truth sidecars.

``VideoFilesDataset`` loads ``{name: VideoSource}`` for every video found
under one or more paths (a file, or a folder searched recursively): each
``.mp4``/``.avi``/``.mov``/``.mkv`` file is one video, and so is each folder
holding image files (a frame folder, frames in the order of the number in
their names). Nothing is decoded at load time: ``VideoSource.frames()``
streams one frame at a time through OpenCV, so no video is ever held whole
in memory. Files with another extension in a searched folder (other than
the known sidecars) are listed too, so the pipeline can reject them with a
reason instead of dropping them silently.

``VideoGroundTruthDataset`` concatenates the ``<stem>.ground_truth.csv``
sidecars found under the same paths (an empty table when there are none).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
from kedro.io import AbstractDataset, DatasetError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
GROUND_TRUTH_SUFFIX = ".ground_truth.csv"
# Files that live beside videos and are not videos: not reported as rejects.
SIDECAR_SUFFIXES = (".csv", ".json", ".md", ".txt", ".gitkeep")
GROUND_TRUTH_COLUMNS = [
    "video",
    "event",
    "emotion",
    "class3",
    "onset_frame",
    "apex_frame",
    "offset_frame",
    "onset_s",
    "apex_s",
    "offset_s",
    "fps",
]


class VideoReadError(Exception):
    """A video that cannot be read; the message is the reason for the reject row."""


@dataclass(frozen=True)
class VideoProbe:
    """What a video's container says about it (``n_frames`` may be an estimate)."""

    fps: float
    n_frames: int
    width: int
    height: int


@dataclass(frozen=True)
class VideoSource:
    """One video to analyse, read lazily.

    Attributes:
        name: the video's name in every output (path relative to the searched
            folder, or the file name when a file was given).
        path: the file or frame folder.
        kind: ``file`` (a video file), ``frames`` (a folder of images) or
            ``other`` (a file that is not a video: rejected downstream).
        frames_fps: frame rate assumed for a frame folder (it has none).
    """

    name: str
    path: Path
    kind: str
    frames_fps: float = 30.0

    def probe(self) -> VideoProbe:
        """fps, frame count and size, without decoding the whole video.

        Raises:
            VideoReadError: the file is empty, not a video, or has no frame.
        """
        if self.kind == "other":
            raise VideoReadError(
                f"'{self.path.suffix or self.path.name}' is not a video extension "
                f"({', '.join(VIDEO_EXTENSIONS)}) nor a folder of frames"
            )
        if self.kind == "frames":
            images = frame_folder_images(self.path)
            if not images:
                raise VideoReadError("the frame folder holds no image")
            first = cv2.imread(str(images[0]), cv2.IMREAD_GRAYSCALE)
            if first is None:
                raise VideoReadError(f"frame {images[0].name} is not a readable image")
            return VideoProbe(
                self.frames_fps, len(images), first.shape[1], first.shape[0]
            )
        if not self.path.is_file():
            raise VideoReadError("the file does not exist")
        if self.path.stat().st_size == 0:
            raise VideoReadError("the file is empty (0 bytes)")
        capture = cv2.VideoCapture(str(self.path))
        try:
            if not capture.isOpened():
                raise VideoReadError(
                    "OpenCV cannot open it: not a video, or a codec this OpenCV "
                    "build lacks (re-encode it, e.g. ffmpeg -i in.x -c:v libx264 out.mp4)"
                )
            ok, frame = capture.read()
            if not ok or frame is None:
                raise VideoReadError(
                    "no frame could be decoded (truncated or corrupt file)"
                )
            fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            return VideoProbe(fps, count, frame.shape[1], frame.shape[0])
        finally:
            capture.release()

    def frames(self) -> Iterator[tuple[int, float, np.ndarray]]:
        """``(index, time in s, grayscale uint8 frame)`` one at a time, in order.

        Times come from the container's timestamps where it has them (variable
        frame rate), else ``index / fps``. Stops quietly at the first frame
        that cannot be decoded (a truncated file): compare the count read
        with ``probe().n_frames``.
        """
        if self.kind == "frames":
            for index, image in enumerate(frame_folder_images(self.path)):
                frame = cv2.imread(str(image), cv2.IMREAD_GRAYSCALE)
                if frame is None:
                    return
                yield index, index / self.frames_fps, frame
            return
        capture = cv2.VideoCapture(str(self.path))
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
        try:
            index = 0
            while True:
                ok, frame = capture.read()
                if not ok or frame is None:
                    return
                stamp_ms = capture.get(cv2.CAP_PROP_POS_MSEC)
                seconds = (
                    stamp_ms / 1000.0 if stamp_ms and stamp_ms > 0 else index / fps
                )
                if index == 0:
                    seconds = 0.0
                gray = (
                    frame
                    if frame.ndim == 2
                    else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
                )
                yield index, float(seconds), gray
                index += 1
        finally:
            capture.release()


def _number_key(path: Path) -> tuple[int, str]:
    numbers = re.findall(r"\d+", path.stem)
    return (int(numbers[-1]) if numbers else -1, path.name)


def frame_folder_images(folder: Path) -> list[Path]:
    """A frame folder's images, ordered by the last number in their names."""
    images = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    ]
    return sorted(images, key=_number_key)


def _as_paths(path: str | list[str] | tuple[str, ...]) -> list[Path]:
    if isinstance(path, (list, tuple)):
        return [Path(p) for p in path]
    return [Path(path)]


def find_videos(roots: list[Path], frames_fps: float) -> dict[str, VideoSource]:
    """Every video under ``roots`` by name (see the module docstring)."""
    found: dict[str, VideoSource] = {}

    def add(name: str, source: VideoSource) -> None:
        unique, n = name, 2
        while unique in found:
            unique, n = f"{name}#{n}", n + 1
        found[unique] = source

    for root in roots:
        if root.is_file():
            kind = "file" if root.suffix.lower() in VIDEO_EXTENSIONS else "other"
            add(root.name, VideoSource(root.name, root, kind, frames_fps))
            continue
        if not root.is_dir():
            add(
                root.name or str(root),
                VideoSource(root.name or str(root), root, "file", frames_fps),
            )
            continue
        folders = [root, *sorted(p for p in root.rglob("*") if p.is_dir())]
        for folder in folders:
            if frame_folder_images(folder):
                name = folder.relative_to(root).as_posix()
                name = root.name if name == "." else name
                add(name, VideoSource(name, folder, "frames", frames_fps))
                continue
            for path in sorted(p for p in folder.iterdir() if p.is_file()):
                suffix = path.suffix.lower()
                if path.name.startswith(".") or suffix in SIDECAR_SUFFIXES:
                    continue
                name = path.relative_to(root).as_posix()
                kind = "file" if suffix in VIDEO_EXTENSIONS else "other"
                add(name, VideoSource(name, path, kind, frames_fps))
    return dict(sorted(found.items()))


class VideoFilesDataset(AbstractDataset[None, dict[str, VideoSource]]):
    """Read-only: ``{name: VideoSource}`` of every video under ``path``.

    Args:
        path: a folder or file, or a list of them.
        frames_fps: frame rate of frame folders (they carry none).
    """

    def __init__(
        self,
        path: str | list[str],
        frames_fps: float = 30.0,
        metadata: dict[str, Any] | None = None,
    ):
        self._roots = _as_paths(path)
        self._frames_fps = float(frames_fps)
        self.metadata = metadata

    def load(self) -> dict[str, VideoSource]:
        missing = [str(r) for r in self._roots if not r.exists()]
        if len(missing) == len(self._roots):
            raise DatasetError(
                f"no video path exists: {missing}. Point globals video_root "
                "(conf/local/globals.yml) at your videos, or run "
                "`kedro run --pipelines=synthetic` for the synthetic ones."
            )
        return find_videos(self._roots, self._frames_fps)

    def save(self, data: None) -> None:
        raise DatasetError("VideoFilesDataset is read-only")

    def _exists(self) -> bool:
        return any(r.exists() for r in self._roots)

    def _describe(self) -> dict[str, Any]:
        return {"path": [str(r) for r in self._roots], "frames_fps": self._frames_fps}


class VideoGroundTruthDataset(AbstractDataset[None, pd.DataFrame]):
    """Read-only: every ``<stem>.ground_truth.csv`` under ``path``, concatenated.

    The ``video`` column is made relative to the searched folder like the
    video names. No sidecar gives an empty table with the sidecar columns.
    """

    def __init__(self, path: str | list[str], metadata: dict[str, Any] | None = None):
        self._roots = _as_paths(path)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        tables = []
        for root in self._roots:
            if root.is_file():
                sidecar = root.with_name(root.stem + GROUND_TRUTH_SUFFIX)
                files = [sidecar] if sidecar.is_file() else []
                base = root.parent
            elif root.is_dir():
                files = sorted(root.rglob("*" + GROUND_TRUTH_SUFFIX))
                base = root
            else:
                continue
            for file in files:
                table = pd.read_csv(file)
                prefix = file.parent.relative_to(base).as_posix()
                if prefix != "." and "video" in table:
                    table["video"] = prefix + "/" + table["video"].astype(str)
                tables.append(table)
        if not tables:
            return pd.DataFrame(columns=GROUND_TRUTH_COLUMNS)
        return pd.concat(tables, ignore_index=True)

    def save(self, data: None) -> None:
        raise DatasetError("VideoGroundTruthDataset is read-only")

    def _exists(self) -> bool:
        return any(r.exists() for r in self._roots)

    def _describe(self) -> dict[str, Any]:
        return {"path": [str(r) for r in self._roots]}
