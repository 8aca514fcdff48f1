"""Composite nodes: class counts, relabelled clip indexes, figures per source dataset."""

from __future__ import annotations

import pandas as pd
import pytest

from me_emotion.pipelines.training.composite import (
    count_classes,
    figures_by_dataset,
    label_clip_index,
)

KEYS = {
    "data_source": "synthetic",
    "embedding_weights": "random (untrained)",
    "settings": "demo settings",
    "image_size": "-",
    "epochs": "-",
    "n_seeds": 1,
    "seed": 2026,
    "model": "svm",
    "level": "clip",
}


def _predictions(protocol, fold, dataset, pairs):
    return pd.DataFrame(
        [
            {
                **KEYS,
                "protocol": protocol,
                "fold": fold,
                "dataset": dataset,
                "subject": f"{dataset}/s{i % 2}",
                "y_true": true,
                "y_pred": pred,
                "prob_negative": 0.0,
                "prob_positive": 0.0,
                "prob_surprise": 0.0,
            }
            for i, (true, pred) in enumerate(pairs)
        ]
    )


def test_figures_per_source_dataset_and_per_transfer_direction():
    right = [
        ("negative", "negative"),
        ("positive", "positive"),
        ("surprise", "surprise"),
    ]
    wrong = [
        ("negative", "positive"),
        ("positive", "surprise"),
        ("surprise", "negative"),
    ]
    half = [
        ("negative", "negative"),
        ("negative", "negative"),
        ("positive", "negative"),
    ]
    predictions = pd.concat(
        [
            _predictions("composite", "casme2/s0", "casme2", right),
            _predictions("composite", "samm/s1", "samm", wrong),
            _predictions("cross_dataset", "casme2_to_samm", "samm", half),
            _predictions("cross_dataset", "samm_to_casme2", "casme2", right),
            _predictions("paper_random_split", "random_split", "casme2", wrong),
        ],
        ignore_index=True,
    )
    table = figures_by_dataset(predictions).set_index(["protocol", "test_dataset"])
    assert len(table) == 4  # the random split has no per-dataset row
    assert table.loc[("composite", "casme2"), "uf1"] == pytest.approx(1.0)
    assert table.loc[("composite", "samm"), "uar"] == pytest.approx(0.0)
    assert table.loc[("composite", "samm"), "train_dataset"] == "all"
    assert (
        "MEGC 2019 composite, CASME-II + SAMM part"
        in (table.loc[("composite", "samm"), "evaluation"])
    )
    transfer = table.loc[("cross_dataset", "samm")]
    assert transfer["train_dataset"] == "casme2"
    # negative recall 1, positive 0, surprise (absent) 0: UAR 1/3;
    # F1 negative 0.8, the others 0: UF1 0.8/3
    assert transfer["uar"] == pytest.approx(1 / 3)
    assert transfer["uf1"] == pytest.approx(0.8 / 3)
    assert transfer["n_samples"] == 3 and transfer["n_subjects"] == 2
    assert table.loc[("cross_dataset", "casme2"), "uf1"] == pytest.approx(1.0)


def test_class_counts_per_dataset_and_source():
    labels = pd.DataFrame(
        {
            "dataset": ["casme2", "casme2", "casme2", "samm", "samm"],
            "subject": ["sub01", "sub01", "sub02", "006", "006"],
            "clip": ["a", "b", "c", "d", "e"],
            "label": ["negative", "negative", "surprise", "positive", "negative"],
            "source": ["official_list"] * 3 + ["class_map"] * 2,
        }
    )
    counts = count_classes(labels).set_index("dataset")
    assert counts.loc["casme2", ["negative", "positive", "surprise"]].tolist() == [
        2,
        0,
        1,
    ]
    assert counts.loc["casme2", "source"] == "official_list"
    assert counts.loc["samm", "subjects"] == 1
    assert counts.loc["all", ["clips", "subjects"]].tolist() == [5, 3]
    assert counts.loc["all", "source"] == "class_map, official_list"


def test_clip_index_takes_the_composite_label_and_leaves_the_rest_out(caplog):
    index = pd.DataFrame(
        {
            "dataset": "samm",
            "subject": ["006", "006", "007"],
            "clip": ["006_1", "006_2", "007_1"],
            "label": [None, "other", "anger"],
            "emotion": ["Disgust", "Other", "Anger"],
        }
    )
    labels = pd.DataFrame(
        {
            "dataset": ["samm", "samm", "casme2"],
            "subject": ["006", "007", "006"],
            "clip": ["006_1", "007_1", "006_2"],
            "label": ["negative", "negative", "positive"],
            "source": "class_map",
        }
    )
    embeddings = pd.DataFrame({"subject": ["006"], "clip": ["006_1"]})
    relabelled = label_clip_index(index, labels, embeddings)
    assert relabelled["label"].fillna("out").tolist() == [
        "negative",  # SAMM disgust
        "out",  # casme2's 006/006_2 is another clip
        "negative",
    ]
    assert "007/007_1" in caplog.text  # a composite clip without features is named
