"""UF1 / UAR against hand-computed examples; pooling and the metrics table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from me_emotion.core.metrics import (
    chance_levels,
    classification_metrics,
    confusion_counts,
    uar,
    uf1,
)
from me_emotion.pipelines.training.nodes import compute_metrics, pool_predictions

LABELS = ["a", "b", "c"]


def test_uf1_and_uar_by_hand():
    y_true = ["a", "a", "a", "b", "b", "c"]
    y_pred = ["a", "a", "b", "b", "c", "c"]
    # a: TP 2, FP 0, FN 1 -> P 1, R 2/3, F1 0.8
    # b: TP 1, FP 1, FN 1 -> P 1/2, R 1/2, F1 1/2
    # c: TP 1, FP 1, FN 0 -> P 1/2, R 1, F1 2/3
    assert uf1(y_true, y_pred, LABELS) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert uar(y_true, y_pred, LABELS) == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    metrics = classification_metrics(y_true, y_pred, LABELS)
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["macro_precision"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert metrics["weighted_f1"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 1 * 2 / 3) / 6)


def test_a_class_never_predicted_still_counts():
    y_true = ["a", "a", "b", "b", "c"]
    y_pred = ["a", "a", "b", "b", "a"]
    # a: P 2/3, R 1 -> F1 0.8; b: F1 1; c: never predicted -> F1 0, R 0
    assert uf1(y_true, y_pred, LABELS) == pytest.approx(0.6)
    assert uar(y_true, y_pred, LABELS) == pytest.approx(2 / 3)


def test_a_class_absent_from_the_labels_is_not_dropped():
    """labels= keeps the class: without it scikit-learn would average over 2 classes."""
    y_true, y_pred = ["a", "b"], ["a", "b"]
    assert uf1(y_true, y_pred, LABELS) == pytest.approx(2 / 3)


def test_chance_levels():
    levels = chance_levels(["a", "a", "b", "c"], LABELS)
    assert levels["chance_accuracy"] == 0.5
    assert levels["chance_uar"] == pytest.approx(1 / 3)
    # uniform guess: F1_c = 2 p / (K p + 1): a 1/2.5, b and c (2/4)/(7/4)
    assert levels["chance_uf1"] == pytest.approx((1 / 2.5 + 2 * (0.5 / 1.75)) / 3)


def test_confusion_counts_list_every_pair():
    table = confusion_counts(["a", "b"], ["a", "a"], LABELS)
    assert len(table) == 9
    assert table.set_index(["y_true", "y_pred"])["count"].to_dict()[("b", "a")] == 1
    assert table["count"].sum() == 2


def _frame_predictions() -> pd.DataFrame:
    rows = []
    for protocol, fold in (("loso", "s0"), ("paper_random_split", "random_split")):
        for frame, (pa, pb, pc) in enumerate(
            [(0.6, 0.3, 0.1), (0.1, 0.5, 0.4), (0.2, 0.4, 0.4)]
        ):
            rows.append(
                {
                    "data_source": "synthetic",
                    "embedding_weights": "hed",
                    "settings": "demo settings",
                    "image_size": "-",
                    "epochs": "-",
                    "n_seeds": 1,
                    "seed": 2026,
                    "dataset": "casme2",
                    "protocol": protocol,
                    "model": "svm",
                    "fold": fold,
                    "level": "frame",
                    "subject": "s0",
                    "partition": "s0/c1",
                    "clip": "c1",
                    "frame": frame,
                    "aug_id": 0,
                    "y_true": "b",
                    "y_pred": LABELS[int(np.argmax([pa, pb, pc]))],
                    "prob_a": pa,
                    "prob_b": pb,
                    "prob_c": pc,
                }
            )
    return pd.DataFrame(rows)


def test_clip_prediction_is_the_mean_of_its_frames():
    pooled = pool_predictions(_frame_predictions())
    clips = pooled[pooled["level"] == "clip"]
    assert len(clips) == 2
    clip = clips.iloc[0]
    assert clip["prob_a"] == pytest.approx(0.3) and clip["prob_b"] == pytest.approx(0.4)
    assert clip["y_pred"] == "b" and clip["frame"] == -1


def test_metrics_table_names_protocol_model_level_and_source():
    metrics, confusion = compute_metrics(pool_predictions(_frame_predictions()))
    assert set(zip(metrics["protocol"], metrics["level"])) == {
        ("loso", "frame"),
        ("loso", "clip"),
        ("paper_random_split", "frame"),
        ("paper_random_split", "clip"),
    }
    assert (metrics["data_source"] == "synthetic").all()
    frame = metrics[
        (metrics["protocol"] == "loso") & (metrics["level"] == "frame")
    ].iloc[0]
    assert frame["n_samples"] == 3 and frame["accuracy"] == pytest.approx(2 / 3)
    assert frame["chance_uar"] == pytest.approx(1 / 3)
    assert len(confusion) == 4 * 9
