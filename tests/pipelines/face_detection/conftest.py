"""Face-stage fixtures: a real face photograph, clips built from it, parameters."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from me_emotion.datasets import ClipFrames, HaarCascadeDataset
from me_emotion.datasets.packaged_faces import PHOTOGRAPHS
from tests.conftest import conf_parameters


@pytest.fixture(scope="session")
def face() -> np.ndarray:
    """Grace Hopper's portrait, grayscale, 256x300: one Haar face of ~118 px."""
    grey = cv2.cvtColor(PHOTOGRAPHS["hopper"](), cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, (256, 300), interpolation=cv2.INTER_AREA)


# OpenCV's frontal-face cascade, as the catalog's haar_cascade entry loads it
CASCADE = HaarCascadeDataset(cascade="haarcascade_frontalface_default.xml").load()


@pytest.fixture
def params() -> dict:
    """The project's face_detection block, with a minimum face size for 256 px frames."""
    block = conf_parameters("face_detection", "casme2", "face_detection")
    return {**block, "min_size": [40, 40], "workers": 2}


def clip_of(
    frames: list[np.ndarray], first: int = 100, apex_position: int = 0
) -> ClipFrames:
    numbers = np.arange(first, first + len(frames), dtype=np.int64)
    stack = np.stack(frames) if frames else np.zeros((0, 8, 8), np.uint8)
    apex = int(numbers[apex_position]) if frames else first
    return ClipFrames(
        stack, numbers, first, apex, int(numbers[-1]) if frames else first
    )


def index_of(
    clips: dict[str, ClipFrames], labels: list[str] | None = None
) -> pd.DataFrame:
    """A clip index (the columns the face stage reads) for ``{subject/clip: ...}``."""
    rows = []
    for i, key in enumerate(clips):
        subject, clip = key.split("/")
        label = labels[i] if labels else "happiness"
        rows.append(
            {
                "dataset": "casme2",
                "subject": subject,
                "clip": clip,
                "label": label,
                "emotion": label or "fear",
            }
        )
    return pd.DataFrame(rows)


def lazy(clips: dict[str, ClipFrames]) -> dict:
    """``{key: load}`` as a PartitionedDataset hands partitions to a node."""
    return {key: (lambda clip=clip: clip) for key, clip in clips.items()}
