"""recognition.model auto: the video stage's model with the highest LOSO UF1, from the metrics."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from me_emotion.pipelines.video_analysis.nodes import (
    choose_recognition_model,
    describe_model_sources,
)

COLUMNS = ["protocol", "model", "level", "uf1", "chance_uf1"]
# hybrid_micronet: seeds 0.7 and 0.1 (mean 0.4); flow_cnn: 0.5 and 0.5 (mean 0.5).
# The best single seed, the random split, the frame level and au_enhanced (not a
# model the video stage can feed) would each pick something else.
METRICS = pd.DataFrame(
    [
        ("loso", "hybrid_micronet", "clip", 0.7, 0.19),
        ("loso", "hybrid_micronet", "clip", 0.1, 0.19),
        ("loso", "flow_cnn", "clip", 0.5, 0.19),
        ("loso", "flow_cnn", "clip", 0.5, 0.19),
        ("loso", "hybrid_micronet", "frame", 0.9, 0.19),
        ("paper_random_split", "hybrid_micronet", "clip", 0.95, 0.19),
        ("loso", "au_enhanced", "clip", 0.96, 0.19),
    ],
    columns=COLUMNS,
)
BOUNDS = pd.DataFrame(
    [
        ("loso", "hybrid_micronet", "clip", 0.4, 0.3, 0.5, 0.95),
        ("loso", "flow_cnn", "clip", 0.5, 0.42, 0.58, 0.95),
    ],
    columns=["protocol", "model", "level", "uf1", "uf1_low", "uf1_high", "confidence"],
)


def test_auto_picks_the_highest_mean_loso_uf1():
    choice = choose_recognition_model(METRICS, BOUNDS, "auto", "casme2")
    assert choice["model"] == "flow_cnn"
    assert choice["loso_uf1"] == pytest.approx(0.5)
    assert (choice["uf1_low"], choice["uf1_high"]) == (0.42, 0.58)
    assert choice["chance_uf1"] == pytest.approx(0.19)
    assert choice["chosen_by"].startswith("auto")
    assert "hybrid_micronet 0.400" in choice["chosen_by"]


def test_an_explicit_model_is_kept_and_described():
    choice = choose_recognition_model(METRICS, BOUNDS, "hybrid_micronet", "casme2")
    assert choice["model"] == "hybrid_micronet"
    assert choice["loso_uf1"] == pytest.approx(0.4)  # clip level, mean of seeds
    assert choice["chosen_by"] == "set in video.recognition.model"


def test_missing_figures_are_nan_and_auto_without_them_says_what_to_run():
    no_bounds = BOUNDS.iloc[0:0]
    choice = choose_recognition_model(METRICS, no_bounds, "flow_cnn", "samm")
    assert math.isnan(choice["uf1_low"]) and math.isnan(choice["confidence"])
    with pytest.raises(ValueError, match="kedro run --pipelines=samm"):
        choose_recognition_model(METRICS.iloc[5:], BOUNDS, "auto", "samm")
    with pytest.raises(ValueError, match="must be auto or one of"):
        choose_recognition_model(METRICS, BOUNDS, "svm", "samm")


def test_model_sources_carry_each_namespace_choice_into_the_text():
    sources = describe_model_sources(
        {"source": "synthetic"},
        {"source": "SAMM v1"},
        METRICS,
        METRICS[METRICS["model"] != "flow_cnn"],
        BOUNDS,
        BOUNDS,
        {"model": "auto"},
    )
    assert sources["recognition"]["casme2"]["model"] == "flow_cnn"
    assert sources["recognition"]["samm"]["model"] == "hybrid_micronet"
    assert (
        "casme2: SYNTHETIC, flow_cnn, LOSO UF1 0.50 (95% interval 0.42-0.58, "
        "chance 0.19)" in sources["text"]
    )
    assert sources["synthetic"] is True
