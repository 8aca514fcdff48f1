"""MEGC-style spotting evaluation on hand-made intervals (numbers computed by hand)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from me_emotion.pipelines.video_analysis.evaluation import (
    bootstrap_f1,
    evaluate_spotting,
    interval_iou,
    match_intervals,
    parameters_hash,
    recognition_f1,
    recognition_f1_over_truths,
    spotting_scores,
)

PARAMS = {"iou_threshold": 0.5}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 9), (0, 9), 1.0),
        ((0, 9), (5, 14), 5 / 15),  # 5 shared frames, 15 in either
        ((0, 9), (0, 4), 0.5),  # exactly the threshold
        ((0, 9), (0, 3), 0.4),
        ((0, 4), (4, 8), 1 / 9),  # inclusive ends: one shared frame
        ((0, 4), (5, 9), 0.0),
        ((3, 3), (3, 3), 1.0),  # one-frame intervals
    ],
)
def test_interval_iou(a, b, expected):
    assert interval_iou(*a, *b) == pytest.approx(expected)
    assert interval_iou(*b, *a) == pytest.approx(expected)


def test_iou_exactly_at_threshold_is_a_match_and_just_below_is_not():
    assert match_intervals([(0, 4)], [(0, 9)], 0.5) == [(0, 0, 0.5)]
    assert match_intervals([(0, 3)], [(0, 9)], 0.5) == []


def test_one_prediction_overlapping_two_truths_matches_only_the_better_one():
    # (10,29) vs (10,25): 16/20 = 0.8; vs (20,29): 10/20 = 0.5 -> one TP, one FN
    assert match_intervals([(10, 29)], [(10, 25), (20, 29)]) == [(0, 0, 0.8)]


def test_tied_ious_go_to_the_earlier_truth():
    # (10,29) vs (10,24) and vs (15,29): both 15/20 = 0.75
    assert match_intervals([(10, 29)], [(10, 24), (15, 29)]) == [(0, 0, 0.75)]


def test_overlapping_truths_are_matched_greedily_by_iou():
    # truths A=(0,9), B=(5,14); p0=(3,12): A 7/13, B 8/12; p1=(0,9): A 1.0, B 5/15
    # greedy: p1-A (1.0) first, then p0-B (2/3); p0-A would be a worse assignment
    matches = match_intervals([(3, 12), (0, 9)], [(0, 9), (5, 14)])
    assert [(s, t) for s, t, _ in matches] == [(0, 1), (1, 0)]
    assert matches[0][2] == pytest.approx(8 / 12)
    assert matches[1][2] == pytest.approx(1.0)


def test_two_predictions_on_one_truth_give_one_match():
    # (0,9) IoU 1.0 and (1,10) IoU 9/11: the truth is matched once
    assert match_intervals([(1, 10), (0, 9)], [(0, 9)]) == [(1, 0, 1.0)]


def test_empty_sides_match_nothing():
    assert match_intervals([], [(0, 9)]) == []
    assert match_intervals([(0, 9)], []) == []


def test_spotting_scores_from_counts():
    scores = spotting_scores(tp=2, n_spotted=3, n_truth=4)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(4 / 7)  # 2*2 / (2*2 + 1 + 2)
    empty = spotting_scores(tp=0, n_spotted=0, n_truth=0)
    assert all(math.isnan(v) for v in empty.values())


def test_recognition_f1_leaves_out_others_truths_and_counts_missing_as_wrong():
    truth = ["negative", "positive", "surprise", "others"]
    assert recognition_f1(truth, ["negative", "positive", "surprise", "x"]) == 1.0
    # negative F1 0; positive P 1/2 R 1 -> 2/3; surprise 0 -> mean 2/9
    assert recognition_f1(
        truth, ["positive", "positive", "negative", "others"]
    ) == pytest.approx(2 / 9)
    # a missing label for the positive truth: F1 negative 1, positive 0 -> 1/2
    assert recognition_f1(
        ["negative", "positive"], ["negative", np.nan]
    ) == pytest.approx(0.5)
    assert math.isnan(recognition_f1(["others"], ["negative"]))
    assert math.isnan(recognition_f1(["positive"], [np.nan]))  # not classified


def _truth() -> pd.DataFrame:
    rows = [
        ("v1.mp4", "micro", "negative", 0, 9),
        ("v1.mp4", "micro", "positive", 5, 14),  # overlaps the first truth
        ("v1.mp4", "macro", "positive", 100, 159),
        ("v1.mp4", "blink", "", 200, 205),  # a distractor, not a truth
        ("v2.mp4", "micro", "surprise", 50, 59),
        ("v2.mp4", "micro", "others", 80, 89),
    ]
    table = pd.DataFrame(
        rows, columns=["video", "event", "class3", "onset_frame", "offset_frame"]
    )
    table["apex_frame"] = (table["onset_frame"] + table["offset_frame"]) // 2
    table["data_source"] = "SYNTHETIC"
    return table


def _intervals() -> pd.DataFrame:
    rows = [
        ("v1.mp4", "micro", 0, 9, "negative", "positive"),  # IoU 1 with truth 0
        ("v1.mp4", "micro", 6, 15, "positive", "positive"),  # 9/11 with truth 1
        ("v1.mp4", "micro", 200, 205, "negative", "negative"),  # on the blink: FP
        ("v1.mp4", "macro", 100, 139, np.nan, np.nan),  # 40/60 with the macro
        ("/clips/v2.mp4", "micro", 52, 61, "surprise", "negative"),  # 8/12
        ("/clips/v2.mp4", "micro", 80, 89, "negative", "others"),  # others truth
        ("v3.mp4", "micro", 0, 9, "negative", "negative"),  # no ground truth
    ]
    table = pd.DataFrame(
        rows,
        columns=[
            "video",
            "kind",
            "onset_frame",
            "offset_frame",
            "casme2_class3",
            "samm_class3",
        ],
    )
    table["apex_frame"] = (table["onset_frame"] + table["offset_frame"]) // 2
    return table


@pytest.fixture
def metrics() -> pd.DataFrame:
    return evaluate_spotting(_intervals(), _truth(), PARAMS).set_index(
        ["video", "kind"]
    )


def test_per_video_counts_and_scores(metrics):
    v1 = metrics.loc[("v1.mp4", "micro")]
    assert (v1.n_truth, v1.n_spotted, v1.tp, v1.fp, v1.fn) == (2, 3, 2, 1, 0)
    assert v1.precision == pytest.approx(2 / 3)
    assert v1.recall == 1.0
    assert v1.f1 == pytest.approx(0.8)  # 4 / (4 + 1 + 0)
    v2 = metrics.loc[("v2.mp4", "micro")]
    assert (v2.n_truth, v2.n_spotted, v2.tp, v2.f1) == (2, 2, 2, 1.0)
    macro = metrics.loc[("v1.mp4", "macro")]
    assert (macro.tp, macro.fp, macro.fn, macro.f1) == (1, 0, 0, 1.0)
    nothing = metrics.loc[("v2.mp4", "macro")]  # no truth, nothing spotted
    assert (nothing.n_truth, nothing.n_spotted) == (0, 0)
    assert math.isnan(nothing.f1) and math.isnan(nothing.precision)


def test_pooled_counts_are_sums_over_videos(metrics):
    pooled = metrics.loc[("ALL", "micro")]
    assert (pooled.n_truth, pooled.n_spotted, pooled.tp, pooled.fp, pooled.fn) == (
        4,
        5,
        4,
        1,
        0,
    )  # v3.mp4 has no ground truth: not scored
    assert pooled.precision == pytest.approx(0.8)
    assert pooled.recall == 1.0
    assert pooled.f1 == pytest.approx(8 / 9)
    assert metrics.loc[("ALL", "macro")].f1 == 1.0
    assert set(metrics.index.get_level_values("video")) == {"v1.mp4", "v2.mp4", "ALL"}


def test_recognition_f1_on_true_positives(metrics):
    pooled = metrics.loc[("ALL", "micro")]
    assert pooled.n_recognised == 3  # the "others" truth is left out
    assert pooled.recognition_f1_casme2 == 1.0
    assert pooled.recognition_f1_samm == pytest.approx(2 / 9)
    v1 = metrics.loc[("v1.mp4", "micro")]
    assert v1.recognition_f1_casme2 == 1.0
    assert v1.recognition_f1_samm == pytest.approx(1 / 3)  # negative 0, positive 2/3
    assert metrics.loc[("v2.mp4", "micro")].recognition_f1_samm == 0.0
    assert math.isnan(metrics.loc[("ALL", "macro")].recognition_f1_casme2)


def test_recognition_over_all_truths_counts_a_miss_as_wrong():
    # by hand: truths negative, positive, surprise (the others truth is left out)
    assert recognition_f1_over_truths(
        ["negative", "positive", "surprise", "others"],
        ["negative", "positive", "surprise", np.nan],
    ) == pytest.approx(1.0)
    # surprise missed: its F1 0, the others 1 -> 2/3 (recognition_f1 would say 1.0)
    assert recognition_f1_over_truths(
        ["negative", "positive", "surprise"], ["negative", "positive", None]
    ) == pytest.approx(2 / 3)
    assert recognition_f1_over_truths(["positive"], [None]) == 0.0  # all missed
    assert math.isnan(recognition_f1_over_truths(["others"], ["negative"]))


def test_truth_run_and_spotted_run_give_the_two_losses():
    """Spotting misses v2's surprise; the true intervals are labelled on their own."""
    spotted = _intervals()
    spotted = spotted[spotted["onset_frame"] != 52]  # the surprise is not spotted
    truth_labelled = pd.DataFrame(
        {
            "video": ["v1.mp4", "v1.mp4", "/clips/v2.mp4", "/clips/v2.mp4"],
            "onset_frame": [0, 5, 50, 80],
            "offset_frame": [9, 14, 59, 89],
            "casme2_class3": ["negative", "positive", "surprise", "negative"],
            "samm_class3": ["negative", "negative", "surprise", "others"],
        }
    )
    metrics = evaluate_spotting(
        spotted, _truth(), PARAMS, truth_labelled=truth_labelled
    ).set_index(["video", "kind"])
    pooled = metrics.loc[("ALL", "micro")]
    assert pooled.n_truth_3_classes == 3
    assert pooled.recognition_f1_casme2 == 1.0  # matched pairs only: the miss is hidden
    assert pooled.recognition_f1_all_truths_casme2 == pytest.approx(2 / 3)
    assert pooled.recognition_f1_truth_intervals_casme2 == 1.0
    # samm on the true intervals: negative P 1/2 R 1 -> 2/3, positive 0, surprise 1
    assert pooled.recognition_f1_truth_intervals_samm == pytest.approx(5 / 9)
    # pairs: neg->positive, pos->positive, surprise missed -> neg 0, pos 2/3, sur 0
    assert pooled.recognition_f1_all_truths_samm == pytest.approx(2 / 9)
    assert math.isnan(metrics.loc[("ALL", "macro")].recognition_f1_all_truths_casme2)
    without = evaluate_spotting(spotted, _truth(), PARAMS).set_index(["video", "kind"])
    assert math.isnan(without.loc[("ALL", "micro")].recognition_f1_truth_intervals_samm)


def test_rows_name_protocol_and_data_source(metrics):
    assert (metrics["data_source"] == "SYNTHETIC").all()
    assert metrics["protocol"].str.contains("IoU >= 0.5").all()


def test_empty_predictions_give_zero_recall():
    empty = _intervals().iloc[0:0]
    result = evaluate_spotting(empty, _truth(), PARAMS).set_index(["video", "kind"])
    pooled = result.loc[("ALL", "micro")]
    assert (pooled.n_truth, pooled.n_spotted, pooled.tp, pooled.fn) == (4, 0, 0, 4)
    assert pooled.recall == 0.0 and pooled.f1 == 0.0
    assert math.isnan(pooled.precision)


def test_an_empty_table_without_columns_means_nothing_spotted():
    result = evaluate_spotting(pd.DataFrame(), _truth(), PARAMS)
    pooled = result.set_index(["video", "kind"]).loc[("ALL", "micro")]
    assert (pooled.n_spotted, pooled.fn, pooled.f1) == (0, 4, 0.0)


def test_empty_truth_makes_every_interval_a_false_positive():
    truth = _truth()
    distractors_only = truth[truth["event"] == "blink"]
    result = evaluate_spotting(_intervals(), distractors_only, PARAMS).set_index(
        ["video", "kind"]
    )
    pooled = result.loc[("ALL", "micro")]
    assert (pooled.n_truth, pooled.n_spotted, pooled.tp, pooled.fp) == (0, 3, 0, 3)
    assert pooled.precision == 0.0 and pooled.f1 == 0.0
    assert math.isnan(pooled.recall)


def test_data_source_falls_back_to_params():
    truth = _truth().drop(columns="data_source")
    result = evaluate_spotting(_intervals(), truth, {**PARAMS, "data_source": "real"})
    assert (result["data_source"] == "real").all()


def test_a_stricter_threshold_drops_partial_matches():
    result = evaluate_spotting(_intervals(), _truth(), {"iou_threshold": 0.7})
    pooled = result.set_index(["video", "kind"]).loc[("ALL", "micro")]
    # 1.0, 9/11 and 1.0 stay; 8/12 goes
    assert (pooled.tp, pooled.fp, pooled.fn) == (3, 2, 1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns="kind"), "lacks the columns"),
        (lambda t: t.assign(kind="nano"), "unknown kinds"),
        (lambda t: t.assign(kind=np.nan), "unknown kinds"),
        (lambda t: t.assign(onset_frame=t["offset_frame"] + 1), "after offset_frame"),
    ],
)
def test_bad_intervals_raise_clear_errors(change, message):
    with pytest.raises(ValueError, match=message):
        evaluate_spotting(change(_intervals()), _truth(), PARAMS)


def _split_truth() -> pd.DataFrame:
    """Three videos: dev at 30 fps, test at 30 and 200 fps; one talking stretch."""
    rows = [
        ("d.mp4", "micro", 10, 19, 30.0, "dev"),
        ("t1.mp4", "micro", 10, 19, 30.0, "test"),
        ("t1.mp4", "micro", 40, 49, 30.0, "test"),
        ("t1.mp4", "talking", 100, 159, 30.0, "test"),  # 2 s of talking
        ("t2.mp4", "micro", 10, 69, 200.0, "test"),
    ]
    table = pd.DataFrame(
        rows, columns=["video", "event", "onset_frame", "offset_frame", "fps", "split"]
    )
    return table.assign(class3="negative", profile="realistic")


def test_rows_per_split_profile_and_fps_with_talking_false_positives():
    spotted = pd.DataFrame(
        [
            ("d.mp4", "micro", 10, 19),  # TP
            ("t1.mp4", "micro", 10, 19),  # TP
            ("t1.mp4", "micro", 110, 115),  # FP inside the talking stretch
            ("t1.mp4", "micro", 150, 170),  # FP overlapping its end
            ("t1.mp4", "micro", 300, 305),  # FP elsewhere
            ("t2.mp4", "micro", 10, 69),  # TP
        ],
        columns=["video", "kind", "onset_frame", "offset_frame"],
    )
    result = evaluate_spotting(
        spotted, _split_truth(), {**PARAMS, "bootstrap_resamples": 200}, "abc123"
    ).set_index(["video", "kind"])
    assert (result["spotting_params_hash"] == "abc123").all()
    test30 = result.loc[("ALL test realistic 30fps", "micro")]
    # t1: 2 truths, 4 spotted, 1 TP -> F1 = 2 / (2 + 3 + 1)
    assert (test30.n_videos, test30.tp, test30.fp, test30.fn) == (1, 1, 3, 1)
    assert test30.f1 == pytest.approx(2 / 6)
    assert test30.fp_in_talking == 2 and test30.talking_s == pytest.approx(2.0)
    assert test30.fp_per_talking_min == pytest.approx(60.0)  # 2 per 2 s
    test_all = result.loc[("ALL test realistic", "micro")]
    # t1 + t2: 3 truths, 5 spotted, 2 TP -> 4 / (4 + 3 + 1)
    assert test_all.n_videos == 2 and test_all.f1 == pytest.approx(0.5)
    # resampling two videos: {t1, t1} 1/3, {t2, t2} 1, mixed 1/2 -> within [1/3, 1]
    assert 1 / 3 - 1e-9 <= test_all.f1_low <= 0.5 <= test_all.f1_high <= 1.0
    dev = result.loc[("ALL dev realistic 30fps", "micro")]
    assert dev.f1 == 1.0 and math.isnan(dev.f1_low)  # one video: no interval
    assert result.loc[("ALL", "micro")].n_videos == 3


def test_bootstrap_interval_of_identical_videos_is_a_point():
    counts = pd.DataFrame({"tp": [1, 1, 1], "fp": [1, 1, 1], "fn": [0, 0, 0]})
    low, high = bootstrap_f1(counts, 100, 0.95, 0)
    assert low == pytest.approx(2 / 3) and high == pytest.approx(2 / 3)


def test_parameters_hash_ignores_key_order_and_sees_values():
    assert parameters_hash({"a": 1, "b": [1, 2]}) == parameters_hash(
        {"b": [1, 2], "a": 1}
    )
    assert parameters_hash({"a": 1}) != parameters_hash({"a": 2})
