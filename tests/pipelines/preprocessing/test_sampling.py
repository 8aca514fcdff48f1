from __future__ import annotations

import numpy as np
import pytest

from me_emotion.pipelines.preprocessing.sampling import (
    STRATEGIES,
    flow_frame_numbers,
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


def test_paper_clamps_at_the_ends_of_a_short_clip_and_keeps_each_frame_once():
    # grid 65, 85, 105, 125, 145: both points before the onset become frame 100, once
    numbers = paper_frame_numbers(100, 105, 140, **AT_10_FPS)
    assert numbers.tolist() == [100, 105, 125, 140]


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


@pytest.mark.parametrize(
    ("clip", "expected"),
    [
        ((100, 150, 220), [110, 130, 150, 170, 190]),  # the grid fits: 5 frames
        ((100, 105, 140), [100, 105, 125, 140]),
        ((46, 46, 90), [46, 66, 86]),
        ((7, 7, 7), [7]),  # a one-frame clip is that frame once, not five times
    ],
)
def test_paper_keeps_fewer_distinct_frames_where_the_grid_leaves_the_clip(
    clip, expected
):
    numbers = pick_frame_numbers(*clip, {**PARAMS, "strategy": "paper"})
    assert numbers.tolist() == expected


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
    assert np.all(np.diff(numbers) > 0)  # time order, no frame twice
    assert numbers.min() >= onset and numbers.max() <= offset
    assert apex in numbers


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("clip", CLIPS)
def test_flow_frames_run_from_the_annotated_onset_to_the_apex(strategy, clip):
    onset, apex, offset = clip
    numbers = flow_frame_numbers(onset, apex, offset, {**PARAMS, "strategy": strategy})
    assert numbers[0] == onset and numbers[-1] == apex
    assert np.all(np.diff(numbers) > 0)


def test_flow_frames_hold_the_onset_the_paper_window_misses():
    params = {**PARAMS, "strategy": "paper"}
    assert 100 not in pick_frame_numbers(100, 150, 220, params)  # window 110..190
    # onset, then the strategy's frames up to the apex (fallbacks for a faceless onset)
    assert flow_frame_numbers(100, 150, 220, params).tolist() == [100, 110, 130, 150]


def test_apex_outside_the_clip_is_refused():
    with pytest.raises(ValueError, match="apex 99"):
        pick_frame_numbers(100, 99, 140, {**PARAMS, "strategy": "all"})
