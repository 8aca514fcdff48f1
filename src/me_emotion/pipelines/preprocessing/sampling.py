"""Frame sampling strategies: which frame numbers of onset..offset a clip keeps.

Each strategy is a pure function of the clip's coded onset, apex and offset
(absolute frame numbers) and returns the chosen frame numbers in time order.
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
    which then repeats, so every clip yields the same number of frames and
    the apex is always the middle one.

    Args:
        onset, apex, offset: absolute frame numbers, ``onset <= apex <= offset``.
        release_fps: the recording's frame rate (200 for CASME-II and SAMM).
        target_fps: the resampled rate (10 in the method).
        frames_per_side: frames taken before and after the apex.

    Returns:
        ``int64`` frame numbers, non-decreasing, length ``2 * frames_per_side + 1``.
    """
    step = release_fps / target_fps
    grid = apex + np.arange(-frames_per_side, frames_per_side + 1) * step
    return np.clip(np.rint(grid).astype(np.int64), onset, offset)


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
    """Frame numbers chosen by ``params['strategy']`` (see ``STRATEGIES``)."""
    if not onset <= apex <= offset:
        raise ValueError(
            f"onset {onset} <= apex {apex} <= offset {offset} does not hold; the "
            "clip index should have clamped the apex (data_ingestion)"
        )
    return STRATEGIES[params["strategy"]](onset, apex, offset, params)
