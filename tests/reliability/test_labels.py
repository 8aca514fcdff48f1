"""A label typo in the coding sheet is named, with the known labels."""

from __future__ import annotations

import logging

from me_emotion.datasets import SpreadsheetGridDataset
from me_emotion.datasets.frame_tree import list_frame_tree
from me_emotion.pipelines.data_ingestion.nodes import build_clip_index
from tests.pipelines.data_ingestion.releases import (
    CASME2_HEADER,
    touch_frames,
    write_grid,
)

from .test_messages import INGESTION


def test_unknown_label_is_logged_and_noted_in_the_clip_index(tmp_path, caplog):
    root = tmp_path / "frames"
    rows = [CASME2_HEADER]
    for clip, emotion in [("EP01", "disgust"), ("EP02", "hapiness"), ("EP03", "fear")]:
        touch_frames(root / "sub01" / clip, ["img1.jpg", "img2.jpg"])
        rows.append([1, clip, None, 1, 1, 2, None, "4", emotion, "1"])
    params = {
        **INGESTION,
        "class_sets": {**INGESTION["class_sets"], "all": {"fear": "fear"}},
    }
    grid = SpreadsheetGridDataset(str(write_grid(tmp_path / "c.xlsx", rows))).load()
    with caplog.at_level(logging.INFO):
        index, _ = build_clip_index(grid, list_frame_tree(root), params)
    notes = dict(zip(index["clip"], index["label_note"]))
    assert notes["EP01"] == "" and notes["EP03"] == ""  # fear: known, other class set
    assert "unknown label 'hapiness'" in notes["EP02"]
    assert "['disgust', 'fear', 'happiness']" in notes["EP02"]
    # every raw label outside the class set is named with its count
    assert "'hapiness' x1" in caplog.text and "'fear' x1" in caplog.text
    assert "1 clip(s) with unknown label 'hapiness'" in caplog.text
