"""Render a micro-expression clip from a still face photograph.

A subject is one photograph placed in the frame with its own scale, position,
rotation, aspect and tone. A clip is that still image warped, frame by frame,
by a smooth displacement field: AU-like landmark motions that rise from onset
to apex and fall to offset, plus nuisances (head drift, blinks, illumination
change, sensor noise). Every frame is a pure function of the clip's plan and
its frame number, so frames can be rendered in any order, lazily.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .expressions import BLINK_MOTIONS, LANDMARKS, au_points

NOISE_BANK_SIZE = 4


def largest_face(image_bgr: np.ndarray) -> tuple[int, int, int, int]:
    """Largest Haar frontal-face box ``(x, y, w, h)`` of a photograph."""
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    cascade = cv2.CascadeClassifier(
        cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    )
    faces = cascade.detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(40, 40)
    )
    if len(faces) == 0:
        raise ValueError("no frontal face found in the source photograph")
    x, y, w, h = max(faces, key=lambda box: box[2] * box[3])
    return int(x), int(y), int(w), int(h)


@dataclass(frozen=True)
class SubjectLook:
    """How one synthetic subject differs from the source photograph."""

    photo: str
    mirror: bool
    face_width_px: float
    center_x: float  # face-box centre, fraction of frame width
    center_y: float  # fraction of frame height
    rotation_deg: float
    aspect: float  # vertical stretch
    gamma: float
    contrast: float
    brightness: float  # added grey levels
    tint_b: float
    tint_g: float
    tint_r: float


@dataclass(frozen=True)
class Subject:
    canvas: np.ndarray  # float32 HxWx3 (BGR) still frame of the subject
    affine: np.ndarray  # 2x3 photo -> canvas transform
    box: tuple[int, int, int, int]  # face box in the (mirrored) photo
    face_width_px: float


def compose_subject(
    photo: np.ndarray, look: SubjectLook, frame_size: tuple[int, int]
) -> Subject:
    """Place the photograph in a ``frame_size`` (width, height) frame and tone it."""
    if look.mirror:
        photo = photo[:, ::-1].copy()
    box = largest_face(photo)
    x, y, w, h = box
    scale = look.face_width_px / w
    width, height = frame_size
    src_center = (x + w / 2, y + h / 2)
    dst_center = (look.center_x * width, look.center_y * height)
    rotation = cv2.getRotationMatrix2D(src_center, look.rotation_deg, scale)
    rotation[:, 1] *= look.aspect  # stretch vertically about the face centre
    rotation[:, 2] = 0.0
    offset = np.array(dst_center) - rotation[:, :2] @ np.array(src_center)
    affine = np.hstack([rotation[:, :2], offset[:, None]]).astype(np.float64)
    canvas = cv2.warpAffine(
        photo,
        affine,
        (width, height),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,  # reflection would add partial mirrored faces
    ).astype(np.float32)
    canvas = 255.0 * (canvas / 255.0) ** look.gamma
    canvas = (canvas - canvas.mean()) * look.contrast + canvas.mean() + look.brightness
    canvas *= np.array([look.tint_b, look.tint_g, look.tint_r], dtype=np.float32)
    return Subject(
        canvas=canvas, affine=affine, box=box, face_width_px=look.face_width_px
    )


def landmark_motions(
    subject: Subject, motions: list[tuple[str, float, float]], amplitude_px: float
) -> list[tuple[float, float, float, float]]:
    """Frame-space ``(x, y, dx, dy)`` of face-box motions, scaled to pixels."""
    x, y, w, h = subject.box
    linear = subject.affine[:, :2]
    rotation_only = linear / np.linalg.norm(linear[:, 0])
    points = []
    for landmark, dx, dy in motions:
        u, v = LANDMARKS[landmark]
        px, py = subject.affine @ np.array([x + u * w, y + v * h, 1.0])
        vx, vy = rotation_only @ np.array([dx, dy]) * amplitude_px
        points.append((float(px), float(py), float(vx), float(vy)))
    return points


def displacement_field(
    points: list[tuple[float, float, float, float]],
    sigma: float,
    shape: tuple[int, int],
) -> np.ndarray:
    """Sum of Gaussian-windowed displacements, ``float32`` array ``(H, W, 2)``."""
    field = np.zeros((*shape, 2), dtype=np.float32)
    radius = int(math.ceil(3 * sigma))
    for px, py, vx, vy in points:
        x0, x1 = max(int(px) - radius, 0), min(int(px) + radius + 1, shape[1])
        y0, y1 = max(int(py) - radius, 0), min(int(py) + radius + 1, shape[0])
        if x0 >= x1 or y0 >= y1:
            continue
        gx = np.exp(-((np.arange(x0, x1) - px) ** 2) / (2 * sigma**2))
        gy = np.exp(-((np.arange(y0, y1) - py) ** 2) / (2 * sigma**2))
        window = np.outer(gy, gx).astype(np.float32)
        field[y0:y1, x0:x1, 0] += window * vx
        field[y0:y1, x0:x1, 1] += window * vy
    return field


def expression_profile(frame: float, onset: int, apex: int, offset: int) -> float:
    """Motion intensity in [0, 1]: smooth rise onset->apex, fall apex->offset."""
    if frame <= onset or frame >= offset:
        return 0.0
    if frame <= apex:
        return math.sin(0.5 * math.pi * (frame - onset) / max(apex - onset, 1)) ** 2
    return math.cos(0.5 * math.pi * (frame - apex) / max(offset - apex, 1)) ** 2


def bump(frame: float, centre: float, duration: float) -> float:
    """A smooth 0 -> 1 -> 0 pulse of ``duration`` frames centred on ``centre``."""
    phase = (frame - centre) / duration
    return math.cos(math.pi * phase) ** 2 if abs(phase) < 0.5 else 0.0


@lru_cache(maxsize=4)
def _pixel_grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(
        np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    )


@dataclass
class ClipRenderer:
    """Everything needed to render any frame of one clip."""

    subject: Subject
    expression: np.ndarray  # displacement field at apex, (H, W, 2)
    blink: np.ndarray  # displacement field of a full blink
    onset: int
    apex: int
    offset: int
    blink_frame: float | None
    blink_duration: float
    drift: np.ndarray  # (2 axes, 2 components, [amplitude px, period frames, phase])
    illumination: np.ndarray  # [amplitude, period frames, phase, gradient]
    noise_bank: np.ndarray  # (NOISE_BANK_SIZE, H, W, C) float32
    color: bool
    seed: tuple[int, ...]

    def frame(self, number: int) -> np.ndarray:
        """The clip's frame ``number`` as ``uint8`` BGR (or grayscale) image."""
        height, width = self.expression.shape[:2]
        grid_x, grid_y = _pixel_grid(width, height)
        field = (
            expression_profile(number, self.onset, self.apex, self.offset)
            * self.expression
        )
        if self.blink_frame is not None:
            closing = bump(number, self.blink_frame, self.blink_duration)
            if closing > 0:
                field = field + closing * self.blink
        shift = [
            sum(
                float(a) * math.sin(2 * math.pi * number / period + phase)
                for a, period, phase in axis
            )
            for axis in self.drift
        ]
        image = cv2.remap(
            self.subject.canvas,
            grid_x - field[..., 0] - shift[0],
            grid_y - field[..., 1] - shift[1],
            interpolation=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT_101,
        )
        amplitude, period, phase, gradient = self.illumination
        level = amplitude * math.sin(2 * math.pi * number / period + phase)
        ramp = 1.0 + float(level) + float(gradient * level) * (grid_x / width - 0.5)
        image = image * ramp[..., None]
        rng = np.random.default_rng([*self.seed, number])
        noise = self.noise_bank[rng.integers(NOISE_BANK_SIZE)]
        image = image + np.roll(noise, tuple(rng.integers(0, 64, size=2)), axis=(0, 1))
        image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
        return image if self.color else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def clip_renderer(  # noqa: PLR0913 - one argument per physical property of a clip
    *,
    subject: Subject,
    aus: str,
    amplitude_px: float,
    sigma_face: float,
    blink_px: float,
    onset: int,
    apex: int,
    offset: int,
    blink_frame: float | None,
    blink_duration: float,
    drift: np.ndarray,
    illumination: np.ndarray,
    noise_sd: float,
    color: bool,
    seed: tuple[int, ...],
) -> ClipRenderer:
    """Precompute a clip's displacement fields and noise bank."""
    height, width = subject.canvas.shape[:2]
    sigma = sigma_face * subject.face_width_px
    expression = displacement_field(
        landmark_motions(subject, au_points(aus), amplitude_px), sigma, (height, width)
    )
    blink = displacement_field(
        landmark_motions(subject, BLINK_MOTIONS, blink_px), sigma, (height, width)
    )
    rng = np.random.default_rng(list(seed))
    noise_bank = rng.normal(
        0.0, noise_sd, size=(NOISE_BANK_SIZE, height, width, 3)
    ).astype(np.float32)
    if not color:  # one noise value per pixel, not per channel
        noise_bank[..., 1:] = noise_bank[..., :1]
    return ClipRenderer(
        subject=subject,
        expression=expression,
        blink=blink,
        onset=onset,
        apex=apex,
        offset=offset,
        blink_frame=blink_frame,
        blink_duration=blink_duration,
        drift=drift,
        illumination=illumination,
        noise_bank=noise_bank,
        color=color,
        seed=seed,
    )
