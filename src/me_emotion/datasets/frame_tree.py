"""Read-only listing of a micro-expression release's frame folders.

Both CASME-II (``sub01/EP02_01f/img46.jpg``, ``reg_img46.jpg`` in the cropped
release) and SAMM (``006/006_1_2/006_05562.jpg``, 4- or 5-digit padding) store
one folder per subject holding one folder per clip. Frame numbers are parsed
from the trailing digits of each file name, never formatted, so every padding
and prefix works.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}
SYNTHETIC_MARKER = "SYNTHETIC_DATA.json"
_TRAILING_NUMBER = re.compile(r"(\d+)$")


def frame_number(file_name: str) -> int | None:
    """Frame number from the trailing digits of a file name's stem, or None."""
    match = _TRAILING_NUMBER.search(Path(file_name).stem)
    return int(match.group(1)) if match else None


@dataclass
class FrameTree:
    """What a release root holds.

    Attributes:
        root: the release root as configured.
        frames: one row per image file: ``subject_dir, clip_dir, frame, file``,
            and its ``size`` and ``mtime_ns`` (what incremental re-runs compare).
        unnumbered: image files whose names carry no frame number (relative paths).
        synthetic_manifest: the generator's manifest when the release is the
            synthetic demo data (``SYNTHETIC_DATA.json`` in the root or its
            parent folder), else None.
        clip_folders: every ``(subject_dir, clip_dir)`` folder, with or
            without image files (so an empty clip folder can be told from a
            missing one).
    """

    root: str
    frames: pd.DataFrame
    unnumbered: list[str] = field(default_factory=list)
    synthetic_manifest: dict | None = None
    clip_folders: set[tuple[str, str]] = field(default_factory=set)


def _subfolders(path: str) -> list[os.DirEntry]:
    with os.scandir(path) as entries:
        return sorted((e for e in entries if e.is_dir()), key=lambda e: e.name)


def list_frame_tree(root: str | Path) -> FrameTree:
    """List ``root/<subject>/<clip>/<frame image>`` into a :class:`FrameTree`."""
    root = str(root)
    rows: list[tuple[str, str, int, str, int, int]] = []
    unnumbered: list[str] = []
    clip_folders: set[tuple[str, str]] = set()
    for subject in _subfolders(root):
        for clip in _subfolders(subject.path):
            clip_folders.add((subject.name, clip.name))
            with os.scandir(clip.path) as files:
                for entry in files:
                    if Path(entry.name).suffix.lower() not in IMAGE_SUFFIXES:
                        continue
                    number = frame_number(entry.name)
                    if number is None:
                        unnumbered.append(f"{subject.name}/{clip.name}/{entry.name}")
                    else:
                        stat = entry.stat()
                        rows.append(
                            (
                                subject.name,
                                clip.name,
                                number,
                                entry.name,
                                stat.st_size,
                                stat.st_mtime_ns,
                            )
                        )
    frames = pd.DataFrame(
        rows,
        columns=["subject_dir", "clip_dir", "frame", "file", "size", "mtime_ns"],
    )
    frames = frames.sort_values(["subject_dir", "clip_dir", "frame", "file"])
    return FrameTree(
        root=root,
        frames=frames.reset_index(drop=True),
        unnumbered=sorted(unnumbered),
        synthetic_manifest=_read_synthetic_manifest(Path(root)),
        clip_folders=clip_folders,
    )


def _read_synthetic_manifest(root: Path) -> dict | None:
    for candidate in (root / SYNTHETIC_MARKER, root.parent / SYNTHETIC_MARKER):
        if candidate.is_file():
            return json.loads(candidate.read_text())
    return None


class FrameTreeDataset(AbstractDataset[None, FrameTree]):
    """Lists a release's ``<subject>/<clip>/<frame>`` image tree (read-only).

    Example catalog entry::

        casme2.frame_tree:
          type: me_emotion.datasets.FrameTreeDataset
          path: ${globals:casme2_root}
          missing_hint: Run `kedro run --pipeline=synthetic` ...

    Args:
        path: the release root holding one folder per subject.
        missing_hint: added to the error when ``path`` does not exist.
    """

    def __init__(
        self, path: str, missing_hint: str = "", metadata: dict[str, Any] | None = None
    ):
        self._path = path
        self._missing_hint = missing_hint
        self.metadata = metadata

    def load(self) -> FrameTree:
        if not Path(self._path).is_dir():
            raise DatasetError(
                f"Frame folder '{self._path}' does not exist. {self._missing_hint}".strip()
            )
        return list_frame_tree(self._path)

    def save(self, data: None) -> None:
        raise DatasetError(
            f"FrameTreeDataset('{self._path}') is read-only: frames are written by "
            "the synthetic pipeline's own datasets or come from the release itself."
        )

    def _exists(self) -> bool:
        return Path(self._path).is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path}
