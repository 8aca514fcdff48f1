"""Spotting F1 per split, profile and frame rate, with bootstrap intervals over videos.

Run on demand (not part of the test suite):

    kedro run --pipelines=synthetic_videos        # dev + test splits, both profiles (SYNTHETIC)
    python benchmarks/video_spotting.py data/01_raw/synthetic/videos
    python benchmarks/video_spotting.py data/01_raw/synthetic/videos --split dev \\
        --set spotting.p.micro=0.3                # try a setting: on the dev split ONLY

The pipeline's own nodes (``track_faces``, ``compute_spotting_signals``,
``spot_intervals``) with conf/base's parameters (``--set`` overrides one),
scored by ``evaluation.evaluate_spotting`` (MEGC: IoU >= 0.5, one-to-one),
pooled per (split, profile, fps). Recognition is not run. Honesty rule: a
setting is chosen on the dev split only; the test split is run once, with
the chosen settings, and reported as it comes. ``--cache`` keeps the tracks
and signals (keyed by the parameters that shape them) so settings applied
after the signal (threshold, smoothing, boundaries) are tried in seconds.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from pathlib import Path

import pandas as pd
import yaml

from me_emotion.datasets import HaarCascadeDataset
from me_emotion.datasets.video_files import VideoFilesDataset, VideoGroundTruthDataset
from me_emotion.noise import silence_dependency_noise
from me_emotion.pipelines.video_analysis.evaluation import (
    evaluate_spotting,
    parameters_hash,
)
from me_emotion.pipelines.video_analysis.nodes import (
    compute_spotting_signals,
    spot_intervals,
    track_faces,
)

PROJECT = Path(__file__).resolve().parents[1]
# the spotting keys that shape the signal itself (the rest act on the signal)
SIGNAL_KEYS = (
    "crop_px",
    "regions",
    "reference_region",
    "settle_s",
    "max_head_motion",
    "k_s",
)
COLUMNS = [
    "video",
    "kind",
    "n_videos",
    "n_truth",
    "n_spotted",
    "tp",
    "fp",
    "fn",
    "precision",
    "recall",
    "f1",
    "f1_low",
    "f1_high",
    "talking_s",
    "fp_per_talking_min",
]


def apply_setting(params: dict, setting: str) -> None:
    """``spotting.p.micro=0.3`` -> params["spotting"]["p"]["micro"] = 0.3."""
    path, _, value = setting.partition("=")
    *parents, last = path.split(".")
    block = params
    for key in parents:
        block = block[key]
    if last not in block:
        raise SystemExit(f"--set {setting}: no parameter video.{path}")
    block[last] = yaml.safe_load(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--tracker", default=None, help="default: conf/base's")
    parser.add_argument("--split", choices=["dev", "test"], default=None)
    parser.add_argument("--profile", choices=["standard", "realistic"], default=None)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--cache", type=Path, default=None, help="folder for signals")
    args = parser.parse_args()
    silence_dependency_noise()  # as `kedro run` does (settings.py)
    params = copy.deepcopy(
        yaml.safe_load((PROJECT / "conf/base/parameters_video.yml").read_text())[
            "video"
        ]
    )
    if args.tracker:
        params["tracking"]["tracker"] = args.tracker
    for setting in args.set:
        apply_setting(params, setting)
    truth = VideoGroundTruthDataset(str(args.folder)).load()
    for column, wanted in (("split", args.split), ("profile", args.profile)):
        if wanted:
            truth = truth[truth[column] == wanted]
    names = set(truth["video"])
    videos = {
        k: v
        for k, v in VideoFilesDataset(str(args.folder)).load().items()
        if k in names
    }
    if not videos:
        raise SystemExit(
            f"no video with ground truth under {args.folder} for that split"
        )
    cascade = HaarCascadeDataset(cascade="haarcascade_frontalface_default.xml").load()
    signal_id = parameters_hash(
        {k: params["spotting"][k] for k in SIGNAL_KEYS},
        params["tracking"],
        sorted(videos),
    )
    cached = args.cache / f"signals_{signal_id}.pkl" if args.cache else None
    start = time.perf_counter()
    if cached and cached.exists():
        tracks, index, signals = pd.read_pickle(cached)
    else:
        tracks, index, _ = track_faces(videos, cascade, params["tracking"])
        signals = compute_spotting_signals(videos, tracks, index, params["spotting"])
        if cached:
            cached.parent.mkdir(parents=True, exist_ok=True)
            pd.to_pickle((tracks, index, signals), cached)
    intervals = spot_intervals(signals, index, params["spotting"])
    metrics = evaluate_spotting(
        intervals,
        truth,
        params["evaluation"],
        parameters_hash(params["spotting"], params["tracking"]),
    )
    seconds = time.perf_counter() - start
    frames = int(index["n_frames"].sum())
    print(
        f"SYNTHETIC videos: {len(videos)} ({frames} frames), tracker "
        f"{params['tracking']['tracker']}, {seconds:.0f} s, load average "
        f"{tuple(round(v, 1) for v in os.getloadavg())}; spotting parameters "
        f"{metrics['spotting_params_hash'].iloc[0]}; protocol: "
        f"{metrics['protocol'].iloc[0]}; F1 interval: 95% percentile bootstrap "
        "over videos"
    )
    pooled = metrics[metrics["video"].str.startswith("ALL")]
    pd.set_option("display.width", 220)
    print(pooled[COLUMNS].round(3).to_string(index=False))


if __name__ == "__main__":
    main()
