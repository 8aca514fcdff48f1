from __future__ import annotations

import numpy as np
import pytest

from me_emotion.pipelines.preprocessing.sampling import (
    STRATEGIES,
    paper_frame_numbers,
    pick_frame_numbers,
)

AT_10_FPS = {"release_fps": 200, "target_fps": 10, "frames_per_side": 2}
PARAMS = {"release_fps": 200, "paper": {"target_fps": 10, "frames_per_side": 2}}
# (onset, apex, offset): long clip, apex near the start, apex == onset, one frame.
CLIPS = [(100, 150, 220), (100, 105, 140), (46, 46, 90), (7, 7, 7)]


def test_paper_takes_every_20th_frame_around_the_apex():
    numbers = paper_frame_numbers(100, 150, 220, **AT_10_FPS)
    assert numbers.tolist() == [110, 130, 150, 170, 190]


def test_paper_clamps_and_repeats_at_the_ends_of_a_short_clip():
    numbers = paper_frame_numbers(100, 105, 140, **AT_10_FPS)
    assert numbers.tolist() == [100, 100, 105, 125, 140]


def test_paper_rounds_a_fractional_step_to_the_nearest_frame():
    # 200 fps -> 30 fps: a grid point every 6.67 frames.
    numbers = paper_frame_numbers(
        0, 50, 100, release_fps=200, target_fps=30, frames_per_side=3
    )
    assert numbers.tolist() == [30, 37, 43, 50, 57, 63, 70]


def test_paper_with_no_frames_per_side_is_the_apex():
    assert paper_frame_numbers(
        10, 12, 20, release_fps=200, target_fps=10, frames_per_side=0
    ).tolist() == [12]


@pytest.mark.parametrize("clip", CLIPS)
def test_paper_gives_every_clip_the_same_count_with_the_apex_in_the_middle(clip):
    onset, apex, offset = clip
    numbers = pick_frame_numbers(onset, apex, offset, {**PARAMS, "strategy": "paper"})
    assert len(numbers) == 5
    assert numbers[2] == apex


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("onset_apex", [100, 105]),
        ("onset_apex_offset", [100, 105, 140]),
        ("all", list(range(100, 141))),
    ],
)
def test_fixed_strategies(strategy, expected):
    assert (
        pick_frame_numbers(100, 105, 140, {**PARAMS, "strategy": strategy}).tolist()
        == expected
    )


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("clip", CLIPS)
def test_every_strategy_keeps_order_bounds_and_the_apex(strategy, clip):
    onset, apex, offset = clip
    numbers = pick_frame_numbers(onset, apex, offset, {**PARAMS, "strategy": strategy})
    assert numbers.dtype == np.int64
    assert np.all(np.diff(numbers) >= 0)
    assert numbers.min() >= onset and numbers.max() <= offset
    assert apex in numbers


def test_apex_outside_the_clip_is_refused():
    with pytest.raises(ValueError, match="apex 99"):
        pick_frame_numbers(100, 99, 140, {**PARAMS, "strategy": "all"})
