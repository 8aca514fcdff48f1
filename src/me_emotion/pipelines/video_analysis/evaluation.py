"""MEGC-style evaluation of spotted intervals against ground truth.

Protocol (MEGC spotting, as in the CAS(ME)^2 / SAMM long-video challenges):
a spotted interval is a true positive when its frame IoU with a ground-truth
interval of the same kind (micro or macro) is at least the threshold (0.5);
matching is one-to-one, greedy by IoU, within one video; every unmatched
spotted interval is a false positive (including one that lies on a blink, a
head turn or any other distractor: those are not truths) and every unmatched
truth a false negative. Precision, recall and F1 are pooled over videos by
summing TP/FP/FN: over all videos (``ALL``) and per group of videos of one
split (dev | test), profile (standard | realistic) and frame rate, with a
percentile bootstrap interval over the group's videos. Spotted intervals
that are false and overlap a ``talking`` event are counted per minute of
talking. Every row carries the hash of the spotting parameters that produced
it, so figures from different settings are never mixed up.

Recognition is the macro F1 over the three composite classes of each
model's 3-class label, three ways: ``recognition_f1_<ns>`` on the matched
pairs only (STRS-style); ``recognition_f1_all_truths_<ns>`` over every
ground-truth micro-expression, a truth that no spotted interval matched
counting as wrong (spotting, framing and model); and
``recognition_f1_truth_intervals_<ns>`` over every ground-truth
micro-expression classified on its own true interval (framing and model
only). The gap between the last two is what spotting loses.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import DegenerateDataWarning, bootstrap
from sklearn.metrics import f1_score

from me_emotion.core.releases import DATASETS

logger = logging.getLogger(__name__)

KINDS = ("micro", "macro")
CLASSES3 = ("negative", "positive", "surprise")
RECOGNITION_MODELS = DATASETS
POOLED = "ALL"
INTERVAL_COLUMNS = ("video", "onset_frame", "offset_frame", "kind")
TRUTH_COLUMNS = ("video", "event", "onset_frame", "offset_frame")
GROUP_COLUMNS = ("split", "profile", "fps")  # a pooled group of videos
EVERY = "all"  # the group value of a row pooled over every split / profile / fps
UNSPECIFIED = "unspecified"  # ground truth without a split or profile column
TALKING = "talking"


def parameters_hash(*blocks: dict[str, Any]) -> str:
    """Short SHA-256 of parameter blocks (key order does not matter)."""
    text = json.dumps(blocks, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def bootstrap_f1(
    counts: pd.DataFrame, resamples: int, confidence: float, seed: int
) -> tuple[float, float]:
    """Percentile bootstrap interval of the pooled F1, resampling videos.

    ``counts`` has one row per video with ``tp``, ``fp``, ``fn``; NaN bounds
    with fewer than two videos or when every resample is 0/0.
    """
    if len(counts) < 2 or resamples < 1:
        return np.nan, np.nan

    def pooled_f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, axis: int = -1):
        tp, errors = tp.sum(axis=axis), (fp + fn).sum(axis=axis)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(2 * tp + errors > 0, 2 * tp / (2 * tp + errors), np.nan)

    data = tuple(counts[c].to_numpy(np.float64) for c in ("tp", "fp", "fn"))
    if np.isnan(pooled_f1(*data)):
        return np.nan, np.nan
    with warnings.catch_warnings():  # identical videos: a zero-width interval is right
        warnings.simplefilter("ignore", DegenerateDataWarning)
        result = bootstrap(
            data,
            pooled_f1,
            paired=True,
            vectorized=True,
            n_resamples=int(resamples),
            confidence_level=float(confidence),
            method="percentile",
            random_state=np.random.default_rng(int(seed)),
        )
    low, high = result.confidence_interval
    return float(low), float(high)


def _group_value(truth: pd.DataFrame, column: str) -> pd.Series:
    if column not in truth.columns:
        return pd.Series(UNSPECIFIED if column != "fps" else np.nan, index=truth.index)
    if column == "fps":
        return pd.to_numeric(truth[column], errors="coerce")
    # object first: an all-empty column reads as float64, which refuses a str fill
    return truth[column].astype(object).fillna(UNSPECIFIED).astype(str)


def _talking_seconds(truth: pd.DataFrame) -> float:
    talking = truth[truth["event"] == TALKING]
    if talking.empty or "fps" not in talking.columns:
        return 0.0
    frames = talking["offset_frame"] - talking["onset_frame"] + 1
    return float((frames / pd.to_numeric(talking["fps"])).sum())


def _false_in_talking(
    spotted: pd.DataFrame, matched: set[int], truth: pd.DataFrame
) -> int:
    """False spotted intervals (positions not in ``matched``) overlapping talking."""
    talking = truth[truth["event"] == TALKING]
    if talking.empty:
        return 0
    count = 0
    for position, (onset, offset) in enumerate(
        zip(spotted["onset_frame"], spotted["offset_frame"])
    ):
        if position in matched:
            continue
        if (
            (talking["onset_frame"] <= offset) & (onset <= talking["offset_frame"])
        ).any():
            count += 1
    return count


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


def recognition_f1_over_truths(
    truth_labels: list[Any], predicted_labels: list[Any]
) -> float:
    """Macro F1 over the composite classes, over every truth of them, misses wrong.

    ``predicted_labels[i]`` is the label given to truth ``i`` (NaN/None: the
    truth was missed, or could not be classified: it counts as a wrong
    label). Truths outside the three classes are left out. The mean runs over
    the three classes that occur as truth or prediction among the kept
    truths; NaN only when no truth is one of them.
    """
    kept = [
        (t, "" if p is None or pd.isna(p) else str(p))
        for t, p in zip(truth_labels, predicted_labels)
        if t in CLASSES3
    ]
    if not kept:
        return np.nan
    y_true, y_pred = zip(*kept)
    labels = [c for c in CLASSES3 if c in y_true or c in y_pred]
    return float(
        f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    )


def _truth_run_labels(truth_labelled: pd.DataFrame | None) -> dict[tuple, dict]:
    """``{(video, onset, offset): {namespace: class3}}`` of the labelled true intervals."""
    if truth_labelled is None or truth_labelled.empty:
        return {}
    columns = [f"{m}_class3" for m in RECOGNITION_MODELS]
    return {
        (video_key(row["video"]), int(row["onset_frame"]), int(row["offset_frame"])): {
            m: row.get(f"{m}_class3", np.nan) for m in RECOGNITION_MODELS
        }
        for row in truth_labelled[
            ["video", "onset_frame", "offset_frame", *columns]
        ].to_dict("records")
    }


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


def video_key(name: Any) -> str:
    """Videos are matched by file name, so a full path and a bare name agree."""
    return PurePath(str(name)).name


def _data_sources(truth: pd.DataFrame, params: dict[str, Any]) -> pd.Series:
    default = str(params.get("data_source", "unspecified"))
    if "data_source" not in truth.columns:
        return pd.Series(default, index=truth.index)
    return truth["data_source"].astype(object).fillna(default).astype(str)


def evaluate_spotting(
    intervals: pd.DataFrame,
    ground_truth: pd.DataFrame,
    params: dict[str, Any],
    parameters_id: str = "",
    truth_labelled: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Spotting P/R/F1 per video, per group of videos and pooled, per kind.

    Args:
        intervals: one row per spotted interval: ``video``, ``onset_frame``,
            ``offset_frame``, ``kind`` (micro | macro) and, for recognition,
            ``casme2_class3`` / ``samm_class3``.
        ground_truth: the videos' ground-truth rows (``video``, ``event``,
            ``class3``, ``onset_frame``, ``offset_frame``; optional ``fps``,
            ``split``, ``profile``, ``data_source``). Rows of other events
            (blink, talking, head_turn, ...) are distractors, not truths.
        params: ``iou_threshold`` (0.5 in MEGC); ``bootstrap_resamples``,
            ``confidence``, ``bootstrap_seed`` for the intervals over videos;
            optional ``data_source`` used when the ground truth has no such
            column.
        parameters_id: the hash of the spotting parameters
            (``parameters_hash``), written to every row.
        truth_labelled: the ground-truth micro intervals classified on their
            own (``video``, ``onset_frame``, ``offset_frame``,
            ``<ns>_class3``); None: ``recognition_f1_truth_intervals_*`` NaN.

    Returns:
        One row per (video, kind); per (group, kind), ``video`` =
        ``ALL <split> <profile> <fps>fps`` and ``ALL <split> <profile>``; and
        per (``ALL``, kind). Columns: ``split``, ``profile``, ``fps``,
        ``n_videos``, ``n_truth``, ``n_spotted``, ``tp``, ``fp``, ``fn``,
        ``precision``, ``recall``, ``f1``, ``f1_low`` / ``f1_high`` (bootstrap
        over the videos, pooled rows), ``talking_s``, ``fp_in_talking``,
        ``fp_per_talking_min``, ``n_recognised``, ``recognition_f1_casme2``,
        ``recognition_f1_samm``, ``n_truth_3_classes``,
        ``recognition_f1_all_truths_<ns>``,
        ``recognition_f1_truth_intervals_<ns>``, ``protocol``, ``data_source``,
        ``spotting_params_hash``. Only videos with ground truth are evaluated.
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
        _video=ground_truth["video"].map(video_key),
        _source=_data_sources(ground_truth, params),
        **{f"_{c}": _group_value(ground_truth, c) for c in GROUP_COLUMNS},
    )
    spotted = intervals.assign(_video=intervals["video"].map(video_key))
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
    truth_run = _truth_run_labels(truth_labelled)
    rows = []
    for kind in KINDS:
        per_video = []
        for video in videos:
            all_truth = truth[truth["_video"] == video]
            video_truth = all_truth[all_truth["event"] == kind]
            video_spotted = spotted[
                (spotted["_video"] == video) & (spotted["kind"] == kind)
            ]
            matches = match_intervals(
                list(zip(video_spotted["onset_frame"], video_spotted["offset_frame"])),
                list(zip(video_truth["onset_frame"], video_truth["offset_frame"])),
                threshold,
            )
            first = all_truth.iloc[0]
            per_video.append(
                {
                    "video": video,
                    "split": first["_split"],
                    "profile": first["_profile"],
                    "fps": first["_fps"],
                    "n_truth": len(video_truth),
                    "n_spotted": len(video_spotted),
                    "tp": len(matches),
                    "talking_s": _talking_seconds(all_truth),
                    "fp_in_talking": _false_in_talking(
                        video_spotted, {s for s, _, _ in matches}, all_truth
                    ),
                    "pairs": [
                        (
                            video_truth.iloc[t].get("class3", np.nan),
                            video_spotted.iloc[s].to_dict(),
                        )
                        for s, t, _ in matches
                    ],
                    "truths": _truth_outcomes(
                        video,
                        video_truth,
                        video_spotted,
                        matches,
                        truth_run,
                        classified=truth_labelled is not None,
                    ),
                    "data_source": "+".join(sorted(set(all_truth["_source"]))),
                }
            )
        table = pd.DataFrame(per_video)
        rows += [_row(r, kind, protocol) for r in per_video]
        if table.empty:
            table = pd.DataFrame(columns=[*GROUP_COLUMNS, "video"])
        # groups of videos only where the truth names their split or profile
        table = table[
            (table["split"] != UNSPECIFIED) | (table["profile"] != UNSPECIFIED)
        ]
        fps_key = table["fps"].astype(float).fillna(-1.0)
        groups = [
            (f"ALL {split} {profile} {fps:g}fps", (split, profile, fps), part)
            for (split, profile, fps), part in table.assign(fps=fps_key).groupby(
                ["split", "profile", "fps"], sort=True
            )
            if fps >= 0
        ]
        groups += [
            (f"ALL {split} {profile}", (split, profile, EVERY), part)
            for (split, profile), part in table.groupby(["split", "profile"], sort=True)
        ]
        groups.append((POOLED, (EVERY, EVERY, EVERY), pd.DataFrame(per_video)))
        for name, (split, profile, fps), part in groups:
            rows.append(
                _row(
                    _pooled(part, name, split=split, profile=profile, fps=fps),
                    kind,
                    protocol,
                    bounds=bootstrap_f1(
                        _counts(part),
                        int(params.get("bootstrap_resamples", 1000)),
                        float(params.get("confidence", 0.95)),
                        int(params.get("bootstrap_seed", 0)),
                    ),
                )
            )
    result = pd.DataFrame(rows)
    result["spotting_params_hash"] = parameters_id
    return result


def _truth_outcomes(  # noqa: PLR0913 - one video's truths and what became of them
    video: str,
    video_truth: pd.DataFrame,
    video_spotted: pd.DataFrame,
    matches: list[tuple[int, int, float]],
    truth_run: dict[tuple, dict],
    *,
    classified: bool,
) -> list[dict[str, Any]]:
    """Per truth: its class3, the matched spotted interval's labels (None: missed)
    and its own interval's labels (None: not classified; NaN column: no run)."""
    spotted_of = {t: s for s, t, _ in matches}
    outcomes = []
    for position, truth in enumerate(video_truth.to_dict("records")):
        spot = (
            video_spotted.iloc[spotted_of[position]].to_dict()
            if position in spotted_of
            else {}
        )
        own = truth_run.get(
            (video, int(truth["onset_frame"]), int(truth["offset_frame"])), {}
        )
        outcomes.append(
            {
                "class3": truth.get("class3", np.nan),
                "spotted": {m: spot.get(f"{m}_class3") for m in RECOGNITION_MODELS},
                "own": {m: own.get(m) for m in RECOGNITION_MODELS},
                "classified": classified,
            }
        )
    return outcomes


def _counts(part: pd.DataFrame) -> pd.DataFrame:
    tp = part["tp"].astype(float) if len(part) else pd.Series(dtype=float)
    return pd.DataFrame(
        {
            "tp": tp,
            "fp": part["n_spotted"].astype(float) - tp if len(part) else tp,
            "fn": part["n_truth"].astype(float) - tp if len(part) else tp,
        }
    )


def _pooled(
    part: pd.DataFrame, name: str, *, split: str, profile: str, fps: Any
) -> dict[str, Any]:
    def total(column: str) -> Any:
        return part[column].sum() if len(part) else 0

    return {
        "video": name,
        "split": split,
        "profile": profile,
        "fps": fps,
        "n_videos": len(part),
        "n_truth": int(total("n_truth")),
        "n_spotted": int(total("n_spotted")),
        "tp": int(total("tp")),
        "talking_s": float(total("talking_s")),
        "fp_in_talking": int(total("fp_in_talking")),
        "pairs": [pair for pairs in part.get("pairs", []) for pair in pairs],
        "truths": [t for truths in part.get("truths", []) for t in truths],
        "data_source": "+".join(
            sorted({s for v in part.get("data_source", []) for s in v.split("+")})
        ),
    }


def _row(
    values: dict[str, Any],
    kind: str,
    protocol: str,
    bounds: tuple[float, float] = (np.nan, np.nan),
) -> dict[str, Any]:
    tp, n_spotted, n_truth = values["tp"], values["n_spotted"], values["n_truth"]
    pairs = values["pairs"]
    # only micro intervals are classified: no recognition figure for macro rows
    truths = values.get("truths", []) if kind == "micro" else []
    truth_labels = [label for label, _ in pairs]
    talking_min = values["talking_s"] / 60.0
    return {
        "video": values["video"],
        "kind": kind,
        "split": values["split"],
        "profile": values["profile"],
        "fps": values["fps"],
        "n_videos": values.get("n_videos", 1),
        "n_truth": n_truth,
        "n_spotted": n_spotted,
        "tp": tp,
        "fp": n_spotted - tp,
        "fn": n_truth - tp,
        **spotting_scores(tp, n_spotted, n_truth),
        "f1_low": bounds[0],
        "f1_high": bounds[1],
        "talking_s": values["talking_s"],
        "fp_in_talking": values["fp_in_talking"],
        "fp_per_talking_min": (
            values["fp_in_talking"] / talking_min if talking_min > 0 else np.nan
        ),
        "n_recognised": sum(label in CLASSES3 for label in truth_labels),
        **{
            f"recognition_f1_{model}": recognition_f1(
                truth_labels,
                [spot.get(f"{model}_class3", np.nan) for _, spot in pairs],
            )
            for model in RECOGNITION_MODELS
        },
        "n_truth_3_classes": sum(t["class3"] in CLASSES3 for t in truths)
        if kind == "micro"
        else np.nan,
        **{
            f"recognition_f1_all_truths_{model}": recognition_f1_over_truths(
                [t["class3"] for t in truths], [t["spotted"][model] for t in truths]
            )
            for model in RECOGNITION_MODELS
        },
        **{
            f"recognition_f1_truth_intervals_{model}": (
                recognition_f1_over_truths(
                    [t["class3"] for t in truths], [t["own"][model] for t in truths]
                )
                if all(t["classified"] for t in truths)
                else np.nan
            )
            for model in RECOGNITION_MODELS
        },
        "protocol": protocol,
        "data_source": values["data_source"],
    }
