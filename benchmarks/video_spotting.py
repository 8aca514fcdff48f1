"""Spotting precision / recall / F1 on videos with ground truth, per tracker and per fps.

Run on demand (not part of the test suite):

    kedro run --pipelines=synthetic_videos        # the default synthetic videos (SYNTHETIC)
    python benchmarks/video_spotting.py data/01_raw/synthetic/videos --trackers haar landmarks

The pipeline's own nodes (``track_faces``, ``compute_spotting_signals``,
``spot_intervals``) with conf/base's parameters, scored by
``evaluation.evaluate_spotting`` (MEGC: IoU >= 0.5, one-to-one), pooled per
frame rate. Recognition is not needed for spotting and is not run.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd
import yaml

from me_emotion.datasets import HaarCascadeDataset
from me_emotion.datasets.video_files import VideoFilesDataset, VideoGroundTruthDataset
from me_emotion.pipelines.video_analysis.evaluation import evaluate_spotting
from me_emotion.pipelines.video_analysis.nodes import (
    compute_spotting_signals,
    spot_intervals,
    track_faces,
)

PROJECT = Path(__file__).resolve().parents[1]


def pooled(metrics: pd.DataFrame, videos: list[str], label: str) -> list[dict]:
    rows = []
    for kind, group in metrics[metrics["video"].isin(videos)].groupby("kind"):
        tp, fp, fn = (int(group[c].sum()) for c in ("tp", "fp", "fn"))
        rows.append(
            {
                "videos": label,
                "kind": kind,
                "n_truth": int(group["n_truth"].sum()),
                "n_spotted": int(group["n_spotted"].sum()),
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "precision": tp / (tp + fp) if tp + fp else float("nan"),
                "recall": tp / (tp + fn) if tp + fn else float("nan"),
                "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan"),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--trackers", nargs="+", default=["haar"])
    args = parser.parse_args()
    params = yaml.safe_load((PROJECT / "conf/base/parameters_video.yml").read_text())[
        "video"
    ]
    videos = VideoFilesDataset(str(args.folder)).load()
    cascade = HaarCascadeDataset(cascade="haarcascade_frontalface_default.xml").load()
    truth = VideoGroundTruthDataset(str(args.folder)).load()
    pd.set_option("display.width", 200)
    for tracker in args.trackers:
        start = time.perf_counter()
        tracks, index, _ = track_faces(
            videos, cascade, {**params["tracking"], "tracker": tracker}
        )
        tracked = time.perf_counter()
        signals = compute_spotting_signals(videos, tracks, index, params["spotting"])
        intervals = spot_intervals(signals, index, params["spotting"])
        metrics = evaluate_spotting(intervals, truth, params["evaluation"])
        seconds = time.perf_counter() - start
        per_video = metrics[metrics["video"] != "ALL"]
        fps = index.set_index("video")["fps"].round().astype(int)
        rows = []
        for rate in sorted(set(fps)):
            names = [v for v in per_video["video"].unique() if fps.get(v) == rate]
            rows += pooled(per_video, names, f"{rate} fps ({len(names)} videos)")
        rows += pooled(per_video, list(per_video["video"].unique()), "all")
        face = tracks.groupby("video")["face"].mean().round(3).to_dict()
        print(
            f"\ntracker {tracker}: tracking {tracked - start:.1f} s, all {seconds:.1f} s, "
            f"load average {os.getloadavg()}; share of frames with a face {face}"
        )
        print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
