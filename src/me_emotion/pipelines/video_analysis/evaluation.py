"""MEGC-style evaluation of spotted intervals against ground truth.

Protocol (MEGC spotting, as in the CAS(ME)^2 / SAMM long-video challenges):
a spotted interval is a true positive when its frame IoU with a ground-truth
interval of the same kind (micro or macro) is at least the threshold (0.5);
matching is one-to-one, greedy by IoU, within one video; every unmatched
spotted interval is a false positive (including one that lies on a blink, a
head turn or any other distractor: those are not truths) and every unmatched
truth a false negative. Precision, recall and F1 are pooled over videos by
summing TP/FP/FN. Recognition (STRS-style) is the macro F1 over the three
composite classes of each model's label on the matched pairs.
"""

from __future__ import annotations

import logging
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from me_emotion.core.releases import DATASETS

logger = logging.getLogger(__name__)

KINDS = ("micro", "macro")
CLASSES3 = ("negative", "positive", "surprise")
RECOGNITION_MODELS = DATASETS
POOLED = "ALL"
INTERVAL_COLUMNS = ("video", "onset_frame", "offset_frame", "kind")
TRUTH_COLUMNS = ("video", "event", "onset_frame", "offset_frame")


def interval_iou(onset_a: int, offset_a: int, onset_b: int, offset_b: int) -> float:
    """IoU of two inclusive frame intervals: shared frames / frames in either."""
    shared = max(0, min(offset_a, offset_b) - max(onset_a, onset_b) + 1)
    union = (offset_a - onset_a + 1) + (offset_b - onset_b + 1) - shared
    return shared / union if union > 0 else 0.0


def match_intervals(
    spotted: list[tuple[int, int]],
    truth: list[tuple[int, int]],
    iou_threshold: float = 0.5,
) -> list[tuple[int, int, float]]:
    """One-to-one matches ``(spotted index, truth index, IoU)`` with IoU >= threshold.

    Greedy by IoU: the pair with the highest IoU is matched first, then the
    next pair whose spotted interval and truth are both still free (ties go to
    the earlier spotted interval, then the earlier truth).
    """
    pairs = [
        (iou, s, t)
        for s, (s_on, s_off) in enumerate(spotted)
        for t, (t_on, t_off) in enumerate(truth)
        if (iou := interval_iou(s_on, s_off, t_on, t_off)) >= iou_threshold
    ]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    used_spotted: set[int] = set()
    used_truth: set[int] = set()
    matches = []
    for iou, s, t in pairs:
        if s in used_spotted or t in used_truth:
            continue
        used_spotted.add(s)
        used_truth.add(t)
        matches.append((s, t, iou))
    return sorted(matches, key=lambda m: m[0])


def spotting_scores(tp: int, n_spotted: int, n_truth: int) -> dict[str, float]:
    """Precision, recall and F1 from counts; NaN where the ratio is 0/0."""
    fp, fn = n_spotted - tp, n_truth - tp
    return {
        "precision": tp / n_spotted if n_spotted else np.nan,
        "recall": tp / n_truth if n_truth else np.nan,
        "f1": 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else np.nan,
    }


def recognition_f1(truth_labels: list[Any], predicted_labels: list[Any]) -> float:
    """Macro F1 over the composite classes, on pairs whose truth is one of them.

    Truths outside the three classes (``others``) are left out, as the composite
    protocol does; a prediction outside them (``others``, missing) counts as a
    miss. The mean runs over the three classes that occur among the kept pairs
    (as truth or prediction), so one video without a surprise is not marked
    down for it. NaN when no pair is left or no pair was classified.
    """
    kept = [
        (t, "" if pd.isna(p) else str(p))
        for t, p in zip(truth_labels, predicted_labels)
        if t in CLASSES3
    ]
    if not kept or all(p == "" for _, p in kept):
        return np.nan
    y_true, y_pred = zip(*kept)
    labels = [c for c in CLASSES3 if c in y_true or c in y_pred]
    return float(
        f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    )


def _check_columns(table: pd.DataFrame, required: tuple[str, ...], what: str) -> None:
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise ValueError(
            f"{what} lacks the columns {missing}; it has {list(table.columns)}"
        )
    bad = table[table["onset_frame"] > table["offset_frame"]]
    if len(bad):
        row = bad.iloc[0]
        raise ValueError(
            f"{what}: onset_frame {row['onset_frame']} after offset_frame "
            f"{row['offset_frame']} in video '{row['video']}' ({len(bad)} rows)"
        )


def _video_key(name: Any) -> str:
    """Videos are matched by file name, so a full path and a bare name agree."""
    return PurePath(str(name)).name


def _data_sources(truth: pd.DataFrame, params: dict[str, Any]) -> pd.Series:
    default = str(params.get("data_source", "unspecified"))
    if "data_source" not in truth.columns:
        return pd.Series(default, index=truth.index)
    return truth["data_source"].fillna(default).astype(str)


def evaluate_spotting(
    intervals: pd.DataFrame, ground_truth: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Spotting P/R/F1 per video and pooled, per kind, with recognition F1.

    Args:
        intervals: one row per spotted interval: ``video``, ``onset_frame``,
            ``offset_frame``, ``kind`` (micro | macro) and, for recognition,
            ``casme2_class3`` / ``samm_class3``.
        ground_truth: the videos' ground-truth rows (``video``, ``event``,
            ``class3``, ``onset_frame``, ``offset_frame``; optional
            ``data_source``). Rows of other events (blink, head_turn, ...) are
            distractors, not truths.
        params: ``iou_threshold`` (0.5 in MEGC); optional ``data_source`` used
            when the ground truth has no such column.

    Returns:
        One row per (video, kind) and per (``ALL``, kind): ``n_truth``,
        ``n_spotted``, ``tp``, ``fp``, ``fn``, ``precision``, ``recall``,
        ``f1``, ``n_recognised`` (matched pairs with a 3-class truth),
        ``recognition_f1_casme2``, ``recognition_f1_samm``, ``protocol``,
        ``data_source``. Only videos with ground truth are evaluated.
    """
    threshold = float(params["iou_threshold"])
    if intervals.empty:  # nothing spotted anywhere: a table without columns is fine
        intervals = pd.DataFrame(
            {c: pd.Series(dtype=object) for c in (*INTERVAL_COLUMNS, "apex_frame")}
        )
    _check_columns(intervals, INTERVAL_COLUMNS, "spotted intervals")
    _check_columns(ground_truth, TRUTH_COLUMNS, "ground truth")
    unknown = sorted(set(intervals["kind"].astype(str)) - set(KINDS))
    if unknown:
        raise ValueError(f"spotted intervals have unknown kinds {unknown}; use {KINDS}")
    truth = ground_truth.assign(
        _video=ground_truth["video"].map(_video_key),
        _source=_data_sources(ground_truth, params),
    )
    spotted = intervals.assign(_video=intervals["video"].map(_video_key))
    videos = sorted(truth["_video"].unique())
    orphans = sorted(set(spotted["_video"]) - set(videos))
    if orphans:
        logger.warning(
            "evaluate_spotting: no ground truth for %d video(s) %s; their "
            "intervals are not scored",
            len(orphans),
            orphans,
        )
    protocol = f"MEGC spotting, IoU >= {threshold:g}, one-to-one greedy matching"
    rows = []
    for kind in KINDS:
        pooled_pairs: list[tuple[Any, dict[str, Any]]] = []
        pooled = {"n_truth": 0, "n_spotted": 0, "tp": 0}
        for video in videos:
            video_truth = truth[(truth["_video"] == video) & (truth["event"] == kind)]
            video_spotted = spotted[
                (spotted["_video"] == video) & (spotted["kind"] == kind)
            ]
            matches = match_intervals(
                list(zip(video_spotted["onset_frame"], video_spotted["offset_frame"])),
                list(zip(video_truth["onset_frame"], video_truth["offset_frame"])),
                threshold,
            )
            pairs = [
                (
                    video_truth.iloc[t].get("class3", np.nan),
                    video_spotted.iloc[s].to_dict(),
                )
                for s, t, _ in matches
            ]
            counts = {
                "n_truth": len(video_truth),
                "n_spotted": len(video_spotted),
                "tp": len(matches),
            }
            for key in pooled:
                pooled[key] += counts[key]
            pooled_pairs += pairs
            sources = truth.loc[truth["_video"] == video, "_source"]
            rows.append(
                _row(
                    video,
                    kind,
                    counts=counts,
                    pairs=pairs,
                    protocol=protocol,
                    data_source="+".join(sorted(set(sources))),
                )
            )
        rows.append(
            _row(
                POOLED,
                kind,
                counts=pooled,
                pairs=pooled_pairs,
                protocol=protocol,
                data_source="+".join(sorted(set(truth["_source"]))),
            )
        )
    return pd.DataFrame(rows)


def _row(
    video: str,
    kind: str,
    *,
    counts: dict[str, int],
    pairs: list[tuple[Any, dict[str, Any]]],
    protocol: str,
    data_source: str,
) -> dict[str, Any]:
    tp, n_spotted, n_truth = counts["tp"], counts["n_spotted"], counts["n_truth"]
    truth_labels = [label for label, _ in pairs]
    return {
        "video": video,
        "kind": kind,
        "n_truth": n_truth,
        "n_spotted": n_spotted,
        "tp": tp,
        "fp": n_spotted - tp,
        "fn": n_truth - tp,
        **spotting_scores(tp, n_spotted, n_truth),
        "n_recognised": sum(label in CLASSES3 for label in truth_labels),
        **{
            f"recognition_f1_{model}": recognition_f1(
                truth_labels,
                [spot.get(f"{model}_class3", np.nan) for _, spot in pairs],
            )
            for model in RECOGNITION_MODELS
        },
        "protocol": protocol,
        "data_source": data_source,
    }
