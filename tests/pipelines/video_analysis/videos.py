"""Small hand-made test videos: a real face photograph with one local movement.

Kept tiny (a few seconds, 160x? px) so the tests stay fast; the synthetic
generator's videos (``kedro run --pipelines=synthetic``) are the realistic ones.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from me_emotion.datasets.packaged_faces import PHOTOGRAPHS


def face_canvas(width: int = 200, height: int = 160) -> np.ndarray:
    """Grace Hopper's face photograph (matplotlib's sample) scaled into a grey canvas."""
    photo = cv2.cvtColor(PHOTOGRAPHS["hopper"](), cv2.COLOR_BGR2GRAY)
    side = int(height * 0.95)
    face = cv2.resize(photo[40:470, 60:450], (side, side), interpolation=cv2.INTER_AREA)
    canvas = np.full((height, width), 128, np.uint8)
    left = (width - side) // 2
    canvas[(height - side) // 2 : (height - side) // 2 + side, left : left + side] = (
        face
    )
    return canvas


def raise_mouth_corners(frame: np.ndarray, strength: float) -> np.ndarray:
    """The lower face region warped upward by up to ``strength`` px (a smile-like AU12)."""
    height, width = frame.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width / 2, height * 0.55
    weight = np.exp(
        -(((xs - cx) / (width * 0.1)) ** 2 + ((ys - cy) / (height * 0.06)) ** 2)
    )
    return cv2.remap(
        frame,
        xs,
        ys + strength * weight,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def expression_video_frames(
    fps: float,
    seconds: float,
    events: list[tuple[float, float]],
    strength: float = 3.0,
    face_out: tuple[float, float] | None = None,
) -> list[np.ndarray]:
    """Frames with a triangular expression profile over each ``(onset_s, offset_s)`` event.

    ``face_out``: ``(start_s, end_s)`` during which the frame is blank (face gone).
    """
    canvas = face_canvas()
    rng = np.random.default_rng(0)
    frames = []
    for index in range(int(round(fps * seconds))):
        t = index / fps
        level = 0.0
        for onset, offset in events:
            apex = (onset + offset) / 2
            if onset <= t <= offset:
                level = max(level, 1 - abs(t - apex) / (apex - onset))
        frame = (
            raise_mouth_corners(canvas, strength * level) if level else canvas.copy()
        )
        if face_out and face_out[0] <= t < face_out[1]:
            frame = np.full_like(canvas, 128)
        noise = rng.normal(0, 1.0, frame.shape)
        frames.append(np.clip(frame + noise, 0, 255).astype(np.uint8))
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    """``frames`` (grayscale) as an MJPG ``.avi`` (or ``mp4v`` ``.mp4``) file."""
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if path.suffix == ".mp4" else "MJPG"))
    height, width = frames[0].shape
    writer = cv2.VideoWriter(str(path), fourcc, fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path
