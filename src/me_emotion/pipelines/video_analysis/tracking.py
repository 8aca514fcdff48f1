"""Face tracking over a video: detect, follow by template matching, re-detect, smooth.

A detector (``haar``: OpenCV's frontal-face cascade, the method's detector)
finds the face on a frame scaled so its longer side is at most
``max_side`` px (very large videos are tracked at that size; boxes are
reported in the original frame's pixels). Between detections the face is
followed by normalised cross-correlation of the last detection's face
template around the previous box; the detector runs again every
``redetect_every_s`` seconds and whenever the match score falls below
``min_match_score``. A frame where neither finds the face is marked
``face = False`` with the reason; nothing is guessed. The box that later
stages crop is an exponential moving average of the raw boxes
(``smoothing``), restarted after every faceless stretch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from me_emotion.core.haar import (
    HaarSettings,
    cascade_path,
    detect_faces_in,
    largest_box,
    load_cascade,
)

from .landmarks import LandmarksDetector, LandmarksTrackerUnavailable

__all__ = ["FaceTracker", "LandmarksTrackerUnavailable", "make_detector"]

TRACKERS = ("haar", "landmarks")
TEMPLATE_PX = 48  # side of the matching template: cheap, still distinctive
KEEP_IOU = 0.5  # a re-detection overlapping the tracked box this much is the same face


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    shared = max(0.0, right - left) * max(0.0, bottom - top)
    union = a[2] * a[3] + b[2] * b[3] - shared
    return float(shared / union) if union > 0 else 0.0


def tracking_scale(width: int, height: int, max_side: int) -> float:
    """Factor (<= 1) that brings the frame's longer side to at most ``max_side``."""
    return min(1.0, float(max_side) / float(max(width, height)))


class HaarDetector:
    """Largest Haar face on a (scaled) grayscale frame.

    ``min_face_fraction`` sets the smallest face as a share of the frame's
    shorter side, so the same setting works at any resolution.
    """

    def __init__(self, params: dict[str, Any]):
        self._cascade = load_cascade(cascade_path(params["cascade"]))
        self._scale_factor = float(params["scale_factor"])
        self._min_neighbors = int(params["min_neighbors"])
        self._min_face_fraction = float(params["min_face_fraction"])

    def detect(self, frame: np.ndarray) -> tuple[int, int, int, int] | None:
        side = max(8, int(min(frame.shape[:2]) * self._min_face_fraction))
        settings = HaarSettings(self._scale_factor, self._min_neighbors, (side, side))
        boxes = detect_faces_in(frame, self._cascade, settings)
        return largest_box(boxes) if len(boxes) else None


def make_detector(params: dict[str, Any]) -> HaarDetector | LandmarksDetector:
    """The detector named by ``params["tracker"]``.

    Raises:
        LandmarksTrackerUnavailable: ``landmarks`` without its model files.
        ValueError: an unknown tracker name.
    """
    tracker = params["tracker"]
    if tracker == "haar":
        return HaarDetector(params["haar"])
    if tracker == "landmarks":
        return LandmarksDetector(params["landmarks"])
    raise ValueError(
        f"video.tracking.tracker must be one of {TRACKERS}, got {tracker!r} "
        "(conf/base/parameters_video.yml)"
    )


@dataclass
class FaceTracker:
    """Per-frame face boxes of one video, fed frame by frame (scaled frames).

    Args:
        detector: returns the largest face box on a frame, or None.
        redetect_every: frames between two scheduled detections (>= 1).
        min_match_score: template-match score below which the face is
            searched again by the detector.
        smoothing: weight of the new box in the moving average (1: none).
    """

    detector: Any
    redetect_every: int
    min_match_score: float
    smoothing: float
    _box: np.ndarray | None = None  # raw (x, y, w, h) float, scaled pixels
    _smooth: np.ndarray | None = None
    _template: np.ndarray | None = None
    _since_detection: int = 0
    detections: int = field(default=0)

    def _template_of(self, frame: np.ndarray, box: np.ndarray) -> np.ndarray:
        x, y, w, h = (int(round(v)) for v in box)
        crop = frame[max(y, 0) : y + h, max(x, 0) : x + w]
        return cv2.resize(
            crop, (TEMPLATE_PX, TEMPLATE_PX), interpolation=cv2.INTER_AREA
        )

    def _detect(self, frame: np.ndarray) -> bool:
        self.detections += 1
        self._since_detection = 0
        found = self.detector.detect(frame)
        if found is None:
            self._box = self._smooth = self._template = None
            return False
        self._box = np.asarray(found, np.float64)
        self._template = self._template_of(frame, self._box)
        return True

    def _follow(self, frame: np.ndarray) -> bool:
        """Shift the box to the best template match near it; False when lost."""
        x, y, w, h = self._box
        scale = TEMPLATE_PX / w
        pad = 0.25 * w
        left, top = int(max(0, x - pad)), int(max(0, y - pad))
        right = int(min(frame.shape[1], x + w + pad))
        bottom = int(min(frame.shape[0], y + h + pad))
        window = frame[top:bottom, left:right]
        size = (
            max(1, int(window.shape[1] * scale)),
            max(1, int(window.shape[0] * scale)),
        )
        if size[0] < TEMPLATE_PX or size[1] < TEMPLATE_PX:
            return False
        small = cv2.resize(window, size, interpolation=cv2.INTER_AREA)
        scores = cv2.matchTemplate(small, self._template, cv2.TM_CCOEFF_NORMED)
        _, best, _, location = cv2.minMaxLoc(scores)
        if best < self.min_match_score:
            return False
        self._box = np.array(
            [left + location[0] / scale, top + location[1] / scale, w, h], np.float64
        )
        return True

    def update(self, frame: np.ndarray) -> tuple[np.ndarray | None, str]:
        """The smoothed box ``(x, y, w, h)`` on ``frame`` (scaled px) and how it was found.

        The second value is ``detected``, ``tracked``, or a no-face reason.
        """
        self._since_detection += 1
        if self._box is None:
            how = "detected" if self._detect(frame) else "no face detected"
        elif self._since_detection >= self.redetect_every:
            previous = (self._box, self._smooth, self._template)
            if self._detect(frame):
                how = "detected"
                if box_iou(self._box, previous[0]) >= KEEP_IOU:
                    # the same face: keep following it, so the crop does not jump
                    self._box, self._smooth, self._template = previous
                    self._follow(frame)
            else:  # the detector missed: keep following while the template matches
                self._box, self._smooth, self._template = previous
                how = "tracked" if self._follow(frame) else "face lost"
                if how == "face lost":
                    self._box = self._smooth = self._template = None
        elif self._follow(frame):
            how = "tracked"
        else:
            how = "detected" if self._detect(frame) else "face lost"
        if self._box is None:
            return None, how
        if self._smooth is None:
            self._smooth = self._box.copy()
        else:
            self._smooth = (
                self.smoothing * self._box + (1 - self.smoothing) * self._smooth
            )
        return self._smooth.copy(), how
