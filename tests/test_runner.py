"""IncrementalRunner on the tiny synthetic set: unchanged -> skipped, a changed
parameter -> that stage and everything after, a changed clip -> only that clip."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from me_emotion.runner import IncrementalRunner

from .conftest import run_pipeline

FEATURES = ["casme2.embed_face_crops", "casme2.extract_flow_features"]
FAST = {
    "vgg16_weights": None,  # the catalog's casme2.vgg16_weights: random weights
    "casme2": {
        "feature_extraction": {
            "image": {"size": 32, "border_px": 1},
            "flow": {"method": "farneback"},
        }
    },
}


def _run(project: Path, params: dict | None = None) -> set[str]:
    """Run casme2 through the features; the names of the nodes that ran."""
    stamps = project / "data/09_run_stamps"
    before = {p.name: p.stat().st_mtime_ns for p in stamps.glob("*.json")}
    run_pipeline(
        project,
        "casme2",
        {**FAST, **(params or {})},
        to_nodes=FEATURES,
        runner=IncrementalRunner(stamps=str(stamps)),
    )
    return {
        json.loads(p.read_text())["node"]
        for p in stamps.glob("*.json")
        if before.get(p.name) != p.stat().st_mtime_ns
    }


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*.npz")}


@pytest.mark.integration
def test_incremental_runs_recompute_only_what_changed(tiny_project):
    cold = _run(tiny_project)
    assert {"casme2.build_clip_index", "casme2.sample_frames", *FEATURES} <= cold

    assert _run(tiny_project) == set()  # nothing changed: every node skipped

    crops = tiny_project / "data/03_primary/casme2/face_crops"
    sampled = tiny_project / "data/02_intermediate/casme2/sampled_frames"
    crops_before, sampled_before = _mtimes(crops), _mtimes(sampled)
    margin = {"casme2": {**FAST["casme2"], "face_detection": {"margin": 0.2}}}
    ran = _run(tiny_project, margin)
    assert "casme2.build_clip_index" not in ran and "casme2.sample_frames" not in ran
    assert {"casme2.detect_faces", "casme2.crop_faces", *FEATURES} <= ran
    assert _mtimes(sampled) == sampled_before
    assert all(_mtimes(crops)[p] != t for p, t in crops_before.items())

    # the apex frame file of one clip rewritten: only that clip is sampled again
    clip = pd.read_parquet(
        tiny_project / "data/02_intermediate/casme2/clip_index.parquet"
    ).iloc[0]
    frame = Path(clip["frame_dir"]) / clip["frame_files"][clip["apex"] - clip["onset"]]
    os.utime(frame, ns=(frame.stat().st_atime_ns, frame.stat().st_mtime_ns + 10**9))
    clip_file = f"{clip['subject']}/{clip['clip']}.npz"
    sampled_before = _mtimes(sampled)
    ran = _run(tiny_project, margin)
    assert "casme2.sample_frames" in ran
    changed = [p for p, t in _mtimes(sampled).items() if sampled_before[p] != t]
    assert [p.removeprefix(str(sampled) + "/") for p in changed] == [clip_file]
