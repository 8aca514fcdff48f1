"""Frame sampling strategies: which frame numbers of onset..offset a clip keeps.

Each strategy is a pure function of the clip's coded onset, apex and offset
(absolute frame numbers) and returns the chosen frame numbers in time order,
each frame at most once: a frame that appeared twice in a clip would weigh
twice in its clip mean, and its identical copies could land on both sides of a
frame-level random split.

:func:`flow_frame_numbers` picks the frames the onset->apex flow reads,
whatever the strategy: the annotated onset and apex, plus the strategy's frames
between them (fallback starts should the onset frame show no face).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def paper_frame_numbers(
    onset: int,
    apex: int,
    offset: int,
    *,
    release_fps: float,
    target_fps: float,
    frames_per_side: int,
) -> np.ndarray:
    """The method's own sampling: ``2 * frames_per_side + 1`` frames around the apex.

    Our reading of "resample the onset..offset span to 10 fps and take an equal
    number of frames from its beginning and its end around the apex": the span
    is resampled at ``target_fps`` on a time grid anchored at the apex, i.e. at
    times ``apex + k * release_fps / target_fps`` frames for
    ``k = -frames_per_side .. frames_per_side`` (every 20th frame for 200 fps
    -> 10 fps), each rounded to the nearest recorded frame. The
    ``frames_per_side`` grid points before the apex come from the span's
    beginning, those after it from its end. A grid point outside onset..offset
    (a clip shorter than the window) is clamped to the onset or offset frame,
    and each frame is kept once: such a clip yields fewer than
    ``2 * frames_per_side + 1`` distinct frames (never a repeated one), still
    including the apex, the onset or offset where the grid passed them.

    Args:
        onset, apex, offset: absolute frame numbers, ``onset <= apex <= offset``.
        release_fps: the recording's frame rate (200 for CASME-II and SAMM).
        target_fps: the resampled rate (10 in the method).
        frames_per_side: frames taken before and after the apex.

    Returns:
        ``int64`` frame numbers, increasing (distinct), at most
        ``2 * frames_per_side + 1`` of them.
    """
    step = release_fps / target_fps
    grid = apex + np.arange(-frames_per_side, frames_per_side + 1) * step
    return np.unique(np.clip(np.rint(grid).astype(np.int64), onset, offset))


def _paper(onset: int, apex: int, offset: int, params: dict[str, Any]) -> np.ndarray:
    paper = params["paper"]
    return paper_frame_numbers(
        onset,
        apex,
        offset,
        release_fps=params["release_fps"],
        target_fps=paper["target_fps"],
        frames_per_side=paper["frames_per_side"],
    )


def _onset_apex(
    onset: int, apex: int, offset: int, params: dict[str, Any]
) -> np.ndarray:
    return np.array([onset, apex], dtype=np.int64)


def _onset_apex_offset(
    onset: int, apex: int, offset: int, params: dict[str, Any]
) -> np.ndarray:
    return np.array([onset, apex, offset], dtype=np.int64)


def _all(onset: int, apex: int, offset: int, params: dict[str, Any]) -> np.ndarray:
    return np.arange(onset, offset + 1, dtype=np.int64)


STRATEGIES: dict[str, Callable[[int, int, int, dict[str, Any]], np.ndarray]] = {
    "paper": _paper,  # 2 * frames_per_side + 1 frames around the apex
    "onset_apex": _onset_apex,  # the usual input of onset->apex optical flow
    "onset_apex_offset": _onset_apex_offset,
    "all": _all,  # every frame onset..offset
}


def pick_frame_numbers(
    onset: int, apex: int, offset: int, params: dict[str, Any]
) -> np.ndarray:
    """Distinct frame numbers chosen by ``params['strategy']`` (see ``STRATEGIES``),
    increasing (``onset_apex`` of a clip whose apex is its onset is one frame)."""
    if not onset <= apex <= offset:
        raise ValueError(
            f"onset {onset} <= apex {apex} <= offset {offset} does not hold; the "
            "clip index should have clamped the apex (data_ingestion)"
        )
    return np.unique(STRATEGIES[params["strategy"]](onset, apex, offset, params))


def flow_frame_numbers(
    onset: int, apex: int, offset: int, params: dict[str, Any]
) -> np.ndarray:
    """The frames the onset->apex flow reads: onset, apex, and the strategy's between.

    The flow always runs from the annotated onset to the annotated apex; the
    strategy's frames between them are kept as fallback starts, used only if
    the face stage drops the onset frame for showing no face.

    Returns:
        Distinct ``int64`` frame numbers, increasing, from ``onset`` to ``apex``.
    """
    sampled = pick_frame_numbers(onset, apex, offset, params)
    return np.unique(np.concatenate([[onset, apex], sampled[sampled <= apex]]))
