"""measure_agreement: percent agreement and Cohen's kappa pinned to hand-computed values.

kappa = (p_o - p_e) / (1 - p_e), p_o the share of pairs that agree, p_e the sum over
labels of (count in a) * (count in b) / n^2.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from me_emotion.pipelines.video_analysis.nodes import (
    kappa_with_reason,
    measure_agreement,
)

SOURCES = {"text": "casme2: test; samm: test"}

# (video, kind, casme2_class3, samm_class3)
PAIRS = [
    ("v1", "micro", "negative", "negative"),
    ("v1", "micro", "negative", "negative"),
    ("v1", "micro", "positive", "positive"),
    ("v1", "micro", "positive", "negative"),
    ("v1", "micro", "surprise", "surprise"),
    ("v1", "micro", "others", "negative"),
    ("v1", "micro", "others", "others"),
    ("v1", "micro", "negative", "others"),
    ("v1", "macro", "negative", "positive"),  # macro intervals are not compared
    ("v2", "micro", "surprise", "surprise"),
    ("v2", "micro", "surprise", "surprise"),
    ("v3", "micro", "positive", "negative"),
]


def _intervals(pairs) -> pd.DataFrame:
    return pd.DataFrame(
        pairs, columns=["video", "kind", "casme2_class3", "samm_class3"]
    )


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return measure_agreement(_intervals(PAIRS), SOURCES).set_index("video")


def test_kappa_on_a_hand_computed_3_class_pair():
    # a = n n n p p s, b = n n p p s s: p_o = 4/6; marginals a (3,2,1), b (2,2,2)
    # p_e = (3*2 + 2*2 + 1*2)/36 = 1/3; kappa = (2/3 - 1/3)/(2/3) = 1/2
    a = pd.Series(["n", "n", "n", "p", "p", "s"])
    b = pd.Series(["n", "n", "p", "p", "s", "s"])
    assert kappa_with_reason(a, b) == (pytest.approx(0.5), "")


def test_one_video_four_labels_and_three_classes(table):
    v1 = table.loc["v1"]
    # 4 labels, 8 micro pairs, 5 agree: p_o = 5/8
    # a: neg 3, pos 2, sur 1, oth 2; b: neg 4, pos 1, sur 1, oth 2
    # p_e = (3*4 + 2*1 + 1*1 + 2*2)/64 = 19/64; kappa = (40 - 19)/(64 - 19) = 21/45 = 7/15
    assert v1["n_intervals"] == 8
    assert v1["n_agree"] == 5
    assert v1["percent_agreement"] == pytest.approx(62.5)
    assert v1["cohen_kappa"] == pytest.approx(7 / 15)
    assert v1["kappa_undefined_because"] == ""
    # 3 classes: the first 5 pairs, 4 agree: p_o = 4/5
    # a: neg 2, pos 2, sur 1; b: neg 3, pos 1, sur 1
    # p_e = (2*3 + 2*1 + 1*1)/25 = 9/25; kappa = (20 - 9)/(25 - 9) = 11/16
    assert v1["n_both_in_3_classes"] == 5
    assert v1["n_agree_3_classes"] == 4
    assert v1["percent_agreement_3_classes"] == pytest.approx(80.0)
    assert v1["cohen_kappa_3_classes"] == pytest.approx(11 / 16)


def test_overall_pools_every_video(table):
    overall = table.loc["ALL"]
    # 4 labels: 11 pairs, 5 + 2 + 0 = 7 agree: p_o = 77/121
    # a: neg 3, pos 3, sur 3, oth 2; b: neg 5, pos 1, sur 3, oth 2
    # p_e = (15 + 3 + 9 + 4)/121 = 31/121; kappa = (77 - 31)/(121 - 31) = 46/90 = 23/45
    assert overall["n_intervals"] == 11
    assert overall["cohen_kappa"] == pytest.approx(23 / 45)
    # 3 classes: 5 + 2 + 1 = 8 pairs, 4 + 2 + 0 = 6 agree: p_o = 48/64
    # a: neg 2, pos 3, sur 3; b: neg 4, pos 1, sur 3
    # p_e = (8 + 3 + 9)/64 = 20/64; kappa = (48 - 20)/(64 - 20) = 28/44 = 7/11
    assert overall["n_both_in_3_classes"] == 8
    assert overall["percent_agreement_3_classes"] == pytest.approx(75.0)
    assert overall["cohen_kappa_3_classes"] == pytest.approx(7 / 11)
    assert list(table.index) == ["v1", "v2", "v3", "ALL"]


def test_undefined_kappa_is_nan_with_a_reason(table):
    v2, v3 = table.loc["v2"], table.loc["v3"]
    # both models say surprise on both intervals: p_e = 1, kappa = 0/0
    assert v2["percent_agreement"] == pytest.approx(100.0)
    assert math.isnan(v2["cohen_kappa"])
    assert v2["kappa_undefined_because"] == "both models say surprise everywhere"
    assert math.isnan(v2["cohen_kappa_3_classes"])
    assert v3["kappa_undefined_because"] == "one interval"


def test_no_shared_class_and_no_interval():
    table = measure_agreement(
        _intervals(
            [("v", "micro", "others", "negative"), ("v", "micro", "others", "others")]
        ),
        SOURCES,
    ).set_index("video")
    assert table.loc["v", "n_both_in_3_classes"] == 0
    assert math.isnan(table.loc["v", "percent_agreement_3_classes"])
    assert table.loc["v", "kappa_3_classes_undefined_because"] == "no intervals"
    empty = measure_agreement(_intervals([]), SOURCES)
    assert list(empty["video"]) == ["ALL"]
    assert empty["kappa_undefined_because"].iloc[0] == "no intervals"
