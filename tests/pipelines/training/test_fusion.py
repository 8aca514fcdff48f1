"""HybridMicroNet's fusion weights chosen inside the training fold (``fusion``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from me_emotion.pipelines.training import fusion


def test_fusion_choice_is_off_unless_asked_and_checks_its_settings():
    assert fusion.fusion_choice({}) is None
    assert fusion.fusion_choice({"fusion_choice": {"on_validation": False}}) is None
    choice = fusion.fusion_choice(
        {
            "fusion_choice": {
                "on_validation": True,
                "validation_share": 0.25,
                "levels": [0, 1],
            }
        }
    )
    assert choice == fusion.FusionChoice(0.25, (0.0, 1.0))
    with pytest.raises(ValueError, match="validation_share=1.0"):
        fusion.fusion_choice(
            {"fusion_choice": {"on_validation": True, "validation_share": 1}}
        )
    with pytest.raises(ValueError, match="levels"):
        fusion.fusion_choice({"fusion_choice": {"on_validation": True, "levels": [0]}})


def test_weight_grid_puts_equal_weights_first_and_drops_duplicates():
    grid = fusion.weight_grid(["a", "b"], (0.0, 1.0, 2.0))
    # (1,1) and (2,2) are one point; (0,0) has no weights
    assert grid[0] == {"a": 0.5, "b": 0.5}
    points = [tuple(w.values()) for w in grid]
    assert len(points) == len(set(points))
    assert sorted(points) == sorted(
        [
            (0.5, 0.5),
            (0.0, 1.0),
            (1.0, 0.0),
            (round(1 / 3, 6), round(2 / 3, 6)),
            (round(2 / 3, 6), round(1 / 3, 6)),
        ]
    )
    assert all(math.isclose(sum(w.values()), 1.0, abs_tol=1e-5) for w in grid)
    # three branches, levels 0/1/2: 26 non-zero combinations, 19 distinct points
    assert len(fusion.weight_grid(["a", "b", "c"], (0.0, 1.0, 2.0))) == 19


def test_balanced_log_loss_by_hand():
    """Class 0: -log 0.8 and -log 0.5 (mean); class 1: -log 0.25; mean of the two."""
    p = np.array([[0.8, 0.2], [0.5, 0.5], [0.75, 0.25]])
    y = np.array([0, 0, 1])
    expected = ((-math.log(0.8) - math.log(0.5)) / 2 - math.log(0.25)) / 2
    assert fusion.balanced_log_loss(p, y) == pytest.approx(expected)
    # a zero probability is floored, not infinite
    assert np.isfinite(fusion.balanced_log_loss(np.array([[1.0, 0.0]]), np.array([1])))


def test_choose_weights_follows_the_informative_head_and_equal_wins_ties():
    y = np.array([0, 1, 2, 0, 1, 2])
    informative = np.eye(3)[y] * 0.8 + 0.2 / 3
    uninformative = np.full((6, 3), 1 / 3)
    weights, loss = fusion.choose_weights(
        {"image_delta": uninformative, "flow": informative}, y, (0.0, 1.0, 2.0)
    )
    assert weights == {"image_delta": 0.0, "flow": 1.0}
    assert loss == pytest.approx(-math.log(0.8 + 0.2 / 3))
    # two identical heads: every weighting fuses to the same, equal weights win
    weights, _ = fusion.choose_weights(
        {"image_delta": informative, "flow": informative}, y, (0.0, 1.0, 2.0)
    )
    assert weights == {"image_delta": 0.5, "flow": 0.5}


def test_inner_split_holds_out_whole_groups_of_the_training_side_only():
    groups = np.array(["s1", "s1", "s2", "s3", "s3", "s4", "s5", "s5"])
    inner, held = fusion.inner_split(groups, 0.4, seed=7, fold_name="loso/s9")
    assert sorted([*inner, *held]) == list(range(len(groups)))
    assert len(set(groups[held])) == 2  # round(0.4 x 5 subjects)
    assert not set(groups[held]) & set(groups[inner])  # whole subjects
    # the same fold and seed draw the same subjects; another fold may not
    again, _ = fusion.inner_split(groups, 0.4, seed=7, fold_name="loso/s9")
    np.testing.assert_array_equal(inner, again)
    # always one group left to train on, and at least one to validate on
    _, held = fusion.inner_split(groups[:3], 0.99, seed=7, fold_name="f")
    assert set(groups[:3][held]) in ({"s1"}, {"s2"})
    with pytest.raises(ValueError, match="two training groups"):
        fusion.inner_split(np.array(["s1", "s1"]), 0.2, seed=0, fold_name="loso/s2")
