"""Small CASME-II and SAMM releases in their real layouts, with their quirks.

Frame files are empty: ingestion lists folders and never decodes images.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from me_emotion.datasets import SpreadsheetGridDataset

CASME2_HEADER = [
    "Subject",
    "Filename",
    None,
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    None,
    "Action Units",
    "Estimated Emotion",
    "Objective Classes",
]
SAMM_HEADER = [
    "Subject",
    "Filename",
    "Inducement Code",
    "Onset Frame",
    "Apex Frame",
    "Offset Frame",
    "Duration",
    "Micro",
    "Action Units",
    "Estimated Emotion",
    "Objective Classes",
    "Notes",
]


def touch_frames(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def write_grid(path: Path, rows: list[list]) -> Path:
    width = max(len(row) for row in rows)
    padded = [list(row) + [None] * (width - len(row)) for row in rows]
    SpreadsheetGridDataset(str(path)).save(pd.DataFrame(padded, dtype=object))
    return path


# (subject, Filename, onset, apex cell, offset, AUs, emotion) of the CASME-II fixture
CASME2_ROWS = [
    (1, "EP02_01f", 46, 59, 86, "4+7+L10", "disgust"),  # plain
    (1, "EP03_02", 10, "/", 20, "R12", "happiness"),  # non-numeric apex
    (2, "EP01_01", 5, 9, 15, "1+2", "surprise"),
    (2, "EP09_05", 100, 104, 110, "15", "sadness"),  # outside the 5-class set
    (2, "EP11_01", 30, 33, 40, "14", "repression"),  # frames 35..36 missing
    (3, "EP05_01", 1, 2, 5, "4", "others"),  # clip folder missing
]


def casme2_release(
    root: Path, cropped: bool = False, objective_classes: bool = True
) -> tuple[Path, Path]:
    """A CASME-II release (raw ``img46.jpg`` or cropped ``reg_img46.jpg``).

    Returns the frame root and the coding spreadsheet path.
    """
    frames = root / ("Cropped" if cropped else "CASME2_RAW_selected")
    prefix = "reg_img" if cropped else "img"
    for subject, clip, onset, _, offset, _, _ in CASME2_ROWS:
        if clip == "EP05_01":
            continue
        numbers = [
            n
            for n in range(onset - 2, offset + 3)
            if not (clip == "EP11_01" and n in (35, 36))
        ]
        touch_frames(
            frames / f"sub{subject:02d}" / clip, [f"{prefix}{n}.jpg" for n in numbers]
        )
    (frames / "sub01" / "EP02_01f" / "Thumbs.db").write_bytes(b"")  # not an image
    header = CASME2_HEADER if objective_classes else CASME2_HEADER[:-1]
    rows = [header]
    for subject, clip, onset, apex, offset, aus, emotion in CASME2_ROWS:
        row = [subject, clip, None, onset, apex, offset, None, aus, emotion, 3]
        rows.append(row if objective_classes else row[:-1])
    rows.append([None] * len(header))  # trailing blank row, as saved by Excel
    sheet = write_grid(root / "CASME2-coding-20140508.xlsx", rows)
    return frames, sheet


# (subject cell, Filename, onset, apex, offset, AUs, emotion, padding digits)
SAMM_ROWS = [
    (6, "006_1_2", 5562, 5588, 5604, "R14", "Contempt", 5),  # subject read back as int
    ("006", "006_1_3", 3712, 3700, 3730, "4+7", "Anger", 5),  # apex before onset
    ("007", "007_3_1", 980, 1011, 1002, "12/14", "Happiness", 4),  # apex after offset
    ("007", "007_5_2", 2100, 2110, 2125, "1+2?", "Others", 4),  # 'Others' spelling
    ("008", "008_2_1", 40000, 40010, 40020, "9", "Disgust", 5),  # not in 5-class set
]


def samm_release(root: Path) -> tuple[Path, Path]:
    frames = root / "SAMM"
    for subject, clip, onset, _, offset, _, _, digits in SAMM_ROWS:
        folder = f"{int(subject):03d}"
        names = [f"{folder}_{n:0{digits}d}.jpg" for n in range(onset - 3, offset + 4)]
        touch_frames(frames / folder / clip, names)
    preamble = [[f"preamble line {i}"] + [None] * 11 for i in range(13)]
    preamble[4] = [None] * 12  # blank rows occur in the real preamble
    rows = [*preamble, SAMM_HEADER]
    for subject, clip, onset, apex, offset, aus, emotion, _ in SAMM_ROWS:
        rows.append(
            [
                subject,
                clip,
                1,
                onset,
                apex,
                offset,
                offset - onset + 1,
                "Micro - 1/2",
                aus,
                emotion,
                5,
                None,
            ]
        )
    sheet = write_grid(root / "SAMM_Micro_FACS_Codes_v2.xlsx", rows)
    return frames, sheet
