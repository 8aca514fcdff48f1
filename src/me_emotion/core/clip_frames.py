"""The clip-frames domain type shared by the per-clip stages and training.

:class:`ClipFrames` is one clip's frame stack with the frame numbers it came
from; ``me_emotion.datasets.clip_frames.ClipFramesDataset`` stores it as an
``.npz`` file. :func:`clip_partition` names a clip's partition in
``sampled_frames`` / ``face_crops``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def clip_partition(subject: str, clip: str) -> str:
    """Partition id of a clip in ``sampled_frames`` and ``face_crops``."""
    return f"{subject}/{clip}"


@dataclass(frozen=True, eq=False)
class ClipFrames:
    """Frames of one clip, in time order.

    Attributes:
        frames: ``uint8`` array ``(N, H, W)``, 8-bit grayscale; read-only
            (a memory map) when loaded: copy it before changing it in place.
        frame_numbers: ``int64`` array ``(N,)``: the absolute frame number of
            each frame (as in the release's file names); increasing: the
            sampling strategies keep each frame once (a clamped grid point
            that would repeat a frame is dropped), though a stack built by
            hand may repeat one (non-decreasing is all that is checked).
        onset, apex, offset: the clip's coded frame numbers (clip index).
        crop_box: ``(x, y, width, height)`` of the face crop in the original
            frame's pixels, or None for uncropped frames.
    """

    frames: np.ndarray
    frame_numbers: np.ndarray
    onset: int
    apex: int
    offset: int
    crop_box: tuple[int, int, int, int] | None = None

    def __post_init__(self) -> None:
        frames, numbers = self.frames, self.frame_numbers
        if (
            not isinstance(frames, np.ndarray)
            or frames.dtype != np.uint8
            or frames.ndim != 3
        ):
            raise ValueError(
                "ClipFrames.frames must be a uint8 array (N, H, W) of grayscale "
                f"frames, got {getattr(frames, 'dtype', type(frames))} "
                f"{getattr(frames, 'shape', '')}"
            )
        if not isinstance(numbers, np.ndarray) or numbers.shape != (len(frames),):
            raise ValueError(
                f"ClipFrames.frame_numbers must be an array of {len(frames)} frame "
                f"numbers (one per frame), got shape {getattr(numbers, 'shape', None)}"
            )
        if np.any(np.diff(numbers) < 0):
            raise ValueError(
                f"ClipFrames.frame_numbers must be in time order: {numbers}"
            )

    def position(self, frame_number: int) -> int:
        """Index in ``frames`` of the (first) frame with this absolute number."""
        hits = np.flatnonzero(self.frame_numbers == frame_number)
        if not len(hits):
            raise KeyError(
                f"frame {frame_number} is not among this clip's frames "
                f"{self.frame_numbers.tolist()}; sample with a strategy that keeps "
                "it (onset_apex, onset_apex_offset or all in parameters_preprocessing.yml)"
            )
        return int(hits[0])

    @property
    def apex_frame(self) -> np.ndarray:
        """The apex frame (every sampling strategy keeps it)."""
        return self.frames[self.position(self.apex)]


def onset_apex_positions(crops: ClipFrames) -> tuple[int, int]:
    """Positions of the onset crop (else the earliest crop: the face stage drops
    a faceless onset) and of the apex crop, as the onset->apex flow reads them."""
    start = crops.position(crops.onset) if crops.onset in crops.frame_numbers else 0
    return start, crops.position(crops.apex)
