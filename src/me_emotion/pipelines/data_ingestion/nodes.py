"""Coding spreadsheet + frame folders -> clip index (one row per clip) + rejects."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from me_emotion.datasets.frame_tree import FrameTree
from me_emotion.fingerprint import fingerprint

from .coding_sheet import (
    parse_action_units,
    parse_frame_number,
    read_coding_table,
    subject_folder,
)

logger = logging.getLogger(__name__)

CLIP_INDEX_COLUMNS = [
    "dataset",
    "source",
    "subject",
    "clip",
    "onset",
    "apex",
    "offset",
    "apex_imputed",
    "apex_note",
    "action_units",
    "au_codes",
    "emotion",
    "label",
    "label_note",
    "objective_class",
    "n_frames",
    "frame_dir",
    "frame_files",
    "sheet_row",
    "frames_signature",
]
REJECT_COLUMNS = ["dataset", "sheet_row", "subject", "clip", "reason"]
_MAX_LISTED_FRAMES = 10


class _Reject(Exception):
    """A coding row that cannot become a clip; the message is the reason."""


def _clip_frames(
    frames: pd.DataFrame, onset: int, offset: int, folder: str
) -> pd.DataFrame:
    """Frames onset..offset in order (``file``, ``size``, ``mtime_ns``); every one
    must exist exactly once."""
    wanted = frames[(frames["frame"] >= onset) & (frames["frame"] <= offset)]
    duplicated = sorted(set(wanted.loc[wanted["frame"].duplicated(), "frame"]))
    if duplicated:
        raise _Reject(
            f"several files share frame number(s) {duplicated[:_MAX_LISTED_FRAMES]} "
            f"in {folder}; keep one image per frame"
        )
    missing = sorted(set(range(onset, offset + 1)) - set(wanted["frame"]))
    if missing:
        listed = ", ".join(map(str, missing[:_MAX_LISTED_FRAMES]))
        more = (
            f" (+{len(missing) - _MAX_LISTED_FRAMES} more)"
            if len(missing) > _MAX_LISTED_FRAMES
            else ""
        )
        raise _Reject(
            f"{len(missing)} frame(s) missing inside onset..offset "
            f"{onset}..{offset} in {folder}: {listed}{more}"
        )
    return wanted.sort_values("frame")


def _apex(raw: Any, onset: int, offset: int) -> tuple[int, bool, str]:
    """Apex frame, whether it was imputed/clamped, and a note saying how."""
    apex = parse_frame_number(raw)
    if apex is None:
        middle = (onset + offset) // 2
        return (
            middle,
            True,
            f"apex '{raw}' is not a frame number: imputed as the middle of onset..offset ({middle})",
        )
    if apex < onset:
        return onset, True, f"apex {apex} before onset {onset}: clamped to onset"
    if apex > offset:
        return offset, True, f"apex {apex} after offset {offset}: clamped to offset"
    return apex, False, ""


def _clip_row(
    row: pd.Series,
    frames_by_clip: dict[tuple[str, str], pd.DataFrame],
    tree: FrameTree,
    params: dict[str, Any],
    class_set: dict[str, str],
    *,
    known_labels: list[str],
) -> dict[str, Any]:
    subject = subject_folder(row["subject"], params["subject_folder"])
    clip = "" if pd.isna(row["filename"]) else str(row["filename"]).strip()
    if not clip:
        raise _Reject("empty Filename cell")
    onset = parse_frame_number(row["onset"])
    offset = parse_frame_number(row["offset"])
    if onset is None or offset is None:
        raise _Reject(
            f"onset '{row['onset']}' / offset '{row['offset']}' must both be frame numbers"
        )
    if offset < onset:
        raise _Reject(f"offset {offset} is before onset {onset}")
    folder = f"{tree.root}/{subject}/{clip}"
    frames = frames_by_clip.get((subject, clip))
    if frames is None:
        if (subject, clip) in tree.clip_folders:
            raise _Reject(
                f"clip folder {folder} is empty: no image files with a frame number "
                "in their name; copy the clip's frames there or remove its coding row"
            )
        raise _Reject(f"clip folder {folder} not found")
    clip_frames = _clip_frames(frames, onset, offset, folder)
    frame_files = clip_frames["file"].tolist()
    apex, apex_imputed, apex_note = _apex(row["apex"], onset, offset)
    emotion = "" if pd.isna(row["emotion"]) else str(row["emotion"]).strip()
    au_codes, au_unparsed = parse_action_units(row["action_units"])
    if au_unparsed:
        logger.warning(
            "%s row %s (%s): Action Units tokens %s are not FACS codes; kept in "
            "action_units, left out of au_codes",
            params["dataset"],
            row["sheet_row"],
            clip,
            au_unparsed,
        )
    return {
        "subject": subject,
        "clip": clip,
        "onset": onset,
        "apex": apex,
        "offset": offset,
        "apex_imputed": apex_imputed,
        "apex_note": apex_note,
        "action_units": ""
        if pd.isna(row["action_units"])
        else str(row["action_units"]),
        "au_codes": au_codes,
        "emotion": emotion,
        "label": class_set.get(emotion.lower()),
        "label_note": _label_note(emotion, known_labels, params),
        "objective_class": None
        if pd.isna(row["objective_class"])
        else str(row["objective_class"]),
        "n_frames": len(frame_files),
        "frame_dir": folder,
        "frame_files": frame_files,
        "sheet_row": int(row["sheet_row"]),
        # name, size and modification time of every frame: incremental re-runs
        # recompute a clip when this changes
        "frames_signature": fingerprint(
            clip_frames[["file", "size", "mtime_ns"]].to_numpy().tolist()
        ),
    }


def build_clip_index(
    coding_sheet: pd.DataFrame, frame_tree: FrameTree, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per clip of a CASME-II/SAMM release, and a reject row per bad clip.

    Args:
        coding_sheet: the coding spreadsheet as a raw cell grid (``header=None``).
        frame_tree: the release's frame folders.
        params: ``dataset``, ``coding_file`` (for messages), ``subject_folder``
            (format of a subject's folder name), ``class_set`` (name of the task)
            and ``class_sets`` (``{name: {raw label (any case): task label}}``).

    Returns:
        The clip index (see ``CLIP_INDEX_COLUMNS``; ``label`` is null when the
        emotion is outside the class set) and the rejects (row, clip, reason).
    """
    dataset = params["dataset"]
    class_set = _class_set(params)
    known_labels = _known_labels(params)
    table = read_coding_table(coding_sheet, params["coding_file"], dataset)
    frames_by_clip = {
        key: group
        for key, group in frame_tree.frames.groupby(["subject_dir", "clip_dir"])
    }
    source = "synthetic" if frame_tree.synthetic_manifest else "real"
    if frame_tree.unnumbered:
        logger.warning(
            "%s: %d image file(s) without a frame number in their name are ignored, e.g. %s",
            dataset,
            len(frame_tree.unnumbered),
            frame_tree.unnumbered[:3],
        )

    clips: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for _, row in table.iterrows():
        try:
            clip = _clip_row(
                row,
                frames_by_clip,
                frame_tree,
                params,
                class_set,
                known_labels=known_labels,
            )
            key = (clip["subject"], clip["clip"])
            if key in seen:
                raise _Reject(f"duplicate of spreadsheet row {seen[key]}")
            seen[key] = clip["sheet_row"]
            clips.append({"dataset": dataset, "source": source, **clip})
        except _Reject as reject:
            rejects.append(
                {
                    "dataset": dataset,
                    "sheet_row": int(row["sheet_row"]),
                    "subject": str(row["subject"]),
                    "clip": str(row["filename"]),
                    "reason": str(reject),
                }
            )

    clip_index = pd.DataFrame(clips, columns=CLIP_INDEX_COLUMNS)
    clip_index = clip_index.astype(
        {
            "onset": "int64",
            "apex": "int64",
            "offset": "int64",
            "n_frames": "int64",
            "sheet_row": "int64",
            "apex_imputed": "bool",
        }
    )
    reject_table = pd.DataFrame(rejects, columns=REJECT_COLUMNS)
    _log_summary(dataset, params["class_set"], len(table), clip_index, reject_table)
    return clip_index, reject_table


def _known_labels(params: dict[str, Any]) -> list[str]:
    """Every raw label of any class set of the dataset (lower case): its known labels."""
    return sorted(
        {
            str(raw).lower()
            for mapping in params["class_sets"].values()
            for raw in mapping
        }
    )


def _label_note(emotion: str, known_labels: list[str], params: dict[str, Any]) -> str:
    """A note for a raw label that no class set knows (a typo?), else ''."""
    if emotion.lower() in known_labels:
        return ""
    return (
        f"unknown label '{emotion}': not one of the known {params['dataset']} labels "
        f"{known_labels} (a typo in {params['coding_file']}? or add it to a class set "
        "in parameters_data_ingestion.yml)"
    )


def _class_set(params: dict[str, Any]) -> dict[str, str]:
    name = params["class_set"]
    sets = params["class_sets"]
    if name not in sets:
        raise ValueError(
            f"{params['dataset']}: class_set '{name}' is not one of {sorted(sets)} "
            "(parameters_data_ingestion.yml)"
        )
    return {str(raw).lower(): str(label) for raw, label in sets[name].items()}


def _log_summary(
    dataset: str,
    class_set: str,
    n_rows: int,
    clip_index: pd.DataFrame,
    rejects: pd.DataFrame,
) -> None:
    in_set = clip_index["label"].notna()
    relabelled = in_set & (clip_index["label"] != clip_index["emotion"].str.lower())
    logger.info(
        "%s: %d coding rows -> %d clips kept (%d in class set '%s', %d outside it), "
        "%d relabelled, %d apex imputed/clamped, %d rejected%s",
        dataset,
        n_rows,
        len(clip_index),
        int(in_set.sum()),
        class_set,
        int((~in_set).sum()),
        int(relabelled.sum()),
        int(clip_index["apex_imputed"].sum()),
        len(rejects),
        f" (see {dataset}.ingestion_rejects)" if len(rejects) else "",
    )
    for reason in rejects["reason"].head(5):
        logger.warning("%s reject: %s", dataset, reason)
    outside = clip_index.loc[~in_set, "emotion"].value_counts()
    if len(outside):
        logger.info(
            "%s: raw labels outside class set '%s': %s",
            dataset,
            class_set,
            ", ".join(f"'{label}' x{count}" for label, count in outside.items()),
        )
    for note, count in (
        clip_index.loc[clip_index["label_note"] != "", "label_note"]
        .value_counts()
        .items()
    ):
        logger.warning("%s: %d clip(s) with %s", dataset, count, note)
