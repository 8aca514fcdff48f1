"""A class missing from a fold's training side is warned about and reported."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from me_emotion.pipelines.reporting.pages import fold_gaps_section
from me_emotion.pipelines.training.nodes import make_folds
from tests.pipelines.training.conftest import make_inputs, project_training_block


def test_fold_training_without_a_class_is_warned_and_listed(caplog):
    params = project_training_block("composite")
    inputs = make_inputs(
        {
            "s0": ["negative", "positive", "surprise"],
            "s1": ["negative", "positive"],
            "s2": ["negative", "positive"],
        }
    )
    with caplog.at_level(logging.WARNING):
        _, gaps = make_folds(inputs.to_arrays(), {**params, "protocols": ["loso"]})
    assert "loso fold s0 trains without class(es) surprise" in caplog.text
    clip_gaps = gaps[gaps["level"] == "clip"]
    assert clip_gaps[["fold", "missing_classes"]].values.tolist() == [
        ["s0", "surprise"]
    ]
    assert clip_gaps["test_clips_of_them"].tolist() == [1]
    section = fold_gaps_section(gaps, 3)
    assert "s0" in section and "surprise" in section


@pytest.mark.parametrize("layout", ["casme2", "samm"])
def test_tiny_synthetic_set_has_every_class_in_two_subjects(tiny_release_dir, layout):
    plan = pd.read_parquet(tiny_release_dir / layout / "clip_plan_SYNTHETIC.parquet")
    subjects = plan.groupby(plan["emotion"].str.lower())["subject_id"].nunique()
    assert subjects.min() >= 2, subjects.to_dict()
