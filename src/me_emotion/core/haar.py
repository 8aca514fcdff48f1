"""OpenCV's Haar frontal-face cascade: build it and find a clip's face box.

The catalog's ``HaarCascadeDataset`` reads the cascade file and hands nodes a
``HaarCascade`` (the XML text: plain data that pickles across processes);
``HaarCascade.classifier()`` builds an OpenCV classifier from it in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np


@dataclass(frozen=True)
class HaarSettings:
    """``detectMultiScale`` arguments (``min_size`` is ``(width, height)`` in px)."""

    scale_factor: float
    min_neighbors: int
    min_size: tuple[int, int]


@dataclass
class FaceSearch:
    """Outcome of looking for the face of one clip.

    Attributes:
        box: the largest face ``(x, y, width, height)`` in frame pixels, or None.
        frame_number: the frame it was found on, or None.
        n_faces: faces the cascade returned on that frame.
        frames_tried: frame numbers the cascade ran on, in order.
    """

    box: tuple[int, int, int, int] | None = None
    frame_number: int | None = None
    n_faces: int = 0
    frames_tried: list[int] = field(default_factory=list)


def cascade_path(name: str) -> Path:
    """A cascade file: ``name`` as a path, else a file in ``cv2.data.haarcascades``."""
    path = Path(name)
    if path.is_file():
        return path
    shipped = Path(cv2.data.haarcascades)
    if (shipped / name).is_file():
        return shipped / name
    faces = sorted(p.name for p in shipped.glob("*frontalface*.xml"))
    raise FileNotFoundError(
        f"Haar cascade '{name}' is neither a file nor one of OpenCV's cascades in "
        f"{shipped} (frontal-face ones: {faces}); set cascade: of the haar_cascade "
        "entries in conf/base/catalog_frames_faces.yml (or conf/local/)"
    )


@dataclass(frozen=True)
class HaarCascade:
    """A Haar cascade as loaded by the catalog (``HaarCascadeDataset``).

    Attributes:
        name: the configured ``cascade`` (a file name in OpenCV's folder or a path).
        xml: the cascade file's text.
        identity: ``[file name, size, mtime_ns]`` of the file read.
    """

    name: str
    xml: str = field(repr=False)
    identity: list | None = None

    def classifier(self) -> cv2.CascadeClassifier:
        """A new classifier; one per thread (``detectMultiScale`` keeps state)."""
        problem = (
            f"Haar cascade '{self.name}' is not a cascade that OpenCV can read; "
            "point the haar_cascade catalog entry (cascade:) at an OpenCV "
            "cascade .xml file"
        )
        try:  # OpenCV's parser raises on bad XML
            storage = cv2.FileStorage(
                self.xml, cv2.FILE_STORAGE_READ | cv2.FILE_STORAGE_MEMORY
            )
            cascade = cv2.CascadeClassifier()
            read = cascade.read(storage.getFirstTopLevelNode())
        except (cv2.error, SystemError) as error:
            raise ValueError(problem) from error
        if not read or cascade.empty():
            raise ValueError(problem)
        return cascade


def detect_faces_in(
    frame: np.ndarray, cascade: cv2.CascadeClassifier, settings: HaarSettings
) -> np.ndarray:
    """Face boxes ``(K, 4)`` as ``x, y, width, height`` in a grayscale frame."""
    boxes = cascade.detectMultiScale(
        frame,
        scaleFactor=settings.scale_factor,
        minNeighbors=settings.min_neighbors,
        minSize=tuple(settings.min_size),
    )
    return np.asarray(boxes, dtype=np.int64).reshape(-1, 4)


def largest_box(boxes: np.ndarray) -> tuple[int, int, int, int]:
    """The box of largest area (the first of equals, so the choice is stable)."""
    areas = boxes[:, 2] * boxes[:, 3]
    return tuple(int(v) for v in boxes[int(np.argmax(areas))])


def positions_to_try(frame_numbers: np.ndarray, max_frames: int) -> list[int]:
    """Indices of the frames to run the cascade on, in the order to try them.

    The first frame (the onset, when the strategy samples it) comes first, then
    later distinct frames; when there are more than ``max_frames`` distinct
    frames, they are spread evenly over the clip, because neighbouring frames
    5 ms apart would fail alike.
    """
    _, first = np.unique(frame_numbers, return_index=True)
    distinct = np.sort(first)
    if len(distinct) > max_frames:
        picks = np.unique(
            np.rint(np.linspace(0, len(distinct) - 1, max_frames)).astype(int)
        )
        distinct = distinct[picks]
    return [int(i) for i in distinct]


def find_face(
    frames: np.ndarray,
    frame_numbers: np.ndarray,
    cascade: cv2.CascadeClassifier,
    settings: HaarSettings,
    max_frames: int,
) -> FaceSearch:
    """The largest face on the first frame that has one (see ``positions_to_try``)."""
    search = FaceSearch()
    for position in positions_to_try(frame_numbers, max_frames):
        search.frames_tried.append(int(frame_numbers[position]))
        boxes = detect_faces_in(frames[position], cascade, settings)
        if len(boxes):
            search.box = largest_box(boxes)
            search.frame_number = int(frame_numbers[position])
            search.n_faces = len(boxes)
            break
    return search


def frames_without_face(
    frames: np.ndarray,
    crop_box: tuple[int, int, int, int],
    face_size: int,
    cascade: cv2.CascadeClassifier,
    settings: HaarSettings,
) -> list[int]:
    """Positions of the frames on which the cascade finds no face inside ``crop_box``.

    Cheap: the cascade runs on the crop region only, for faces at least half
    the clip's detected ``face_size`` (px), so a black, blurred or turned-away
    frame inside an otherwise good clip is caught.
    """
    x, y, width, height = crop_box
    smallest = max(int(face_size) // 2, 1)
    check = HaarSettings(
        settings.scale_factor, settings.min_neighbors, (smallest, smallest)
    )
    return [
        position
        for position, frame in enumerate(frames)
        if not len(
            detect_faces_in(frame[y : y + height, x : x + width], cascade, check)
        )
    ]
