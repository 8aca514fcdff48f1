"""Real-time factor of the video pipeline: processing seconds / video seconds, per stage.

Run on demand (not part of the test suite), with the trained models present:

    kedro run --pipelines=synthetic && kedro run --pipelines=casme2 && kedro run --pipelines=samm
    python benchmarks/video_realtime.py data/01_raw/synthetic/videos/synthetic_01_30fps_640x480.mp4

Each stage is the pipeline's own node function, on one video, with
conf/base's parameters and the project's catalog models: ``track_faces``,
``compute_spotting_signals``, ``spot_intervals``, ``extract_interval_crops``,
``classify_intervals`` (both models; model loading and VGG-16 build timed
apart). Kedro's start-up and the catalog writes are not included.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
PROJECT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--tracker", default=None)
    args = parser.parse_args()

    from kedro.framework.session import KedroSession  # noqa: PLC0415 - after the env vars
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415 - after the env vars

    from me_emotion.datasets.video_files import VideoFilesDataset  # noqa: PLC0415 - after the env vars
    from me_emotion.pipelines.video_analysis import nodes  # noqa: PLC0415 - after the env vars

    bootstrap_project(PROJECT)
    with KedroSession.create(project_path=PROJECT) as session:
        context = session.load_context()
        params, catalog = context.params, context.catalog
    video = params["video"]
    if args.tracker:
        video["tracking"]["tracker"] = args.tracker
    videos = VideoFilesDataset(str(args.video)).load()
    seconds: dict[str, float] = {}

    def timed(name, func, *inputs):
        start = time.perf_counter()
        out = func(*inputs)
        seconds[name] = time.perf_counter() - start
        return out

    tracks, index, _ = timed(
        "track_faces",
        nodes.track_faces,
        videos,
        catalog.load("video.haar_cascade"),
        video["tracking"],
    )
    signals = timed(
        "compute_spotting_signals",
        nodes.compute_spotting_signals,
        videos,
        tracks,
        index,
        video["spotting"],
    )
    intervals = timed(
        "spot_intervals", nodes.spot_intervals, signals, index, video["spotting"]
    )
    crops = timed(
        "extract_interval_crops",
        nodes.extract_interval_crops,
        videos,
        tracks,
        intervals,
        params["casme2"]["face_detection"],
        video["recognition"],
    )
    names = [
        f"{ns}.keras_model_{m}"
        for ns in ("casme2", "samm")
        for m in ("hybrid_micronet", "flow_cnn")
    ]
    per_run = None
    if all(
        catalog.exists(n) for n in names + ["casme2.data_source", "samm.data_source"]
    ):
        start = time.perf_counter()
        models = [
            catalog.load(f"{ns}.keras_model_{m}")
            for ns in ("casme2", "samm")
            for m in ("hybrid_micronet", "flow_cnn")
        ]
        sources = nodes.describe_model_sources(
            catalog.load("casme2.data_source"), catalog.load("samm.data_source")
        )
        seconds["load models (once per run)"] = time.perf_counter() - start
        classify_inputs = (
            intervals,
            crops,
            *models,
            catalog.load("casme2.vgg16_weights"),
            catalog.load("samm.vgg16_weights"),
            catalog.load("run_environment"),
            sources,
            params["casme2"],
            params["samm"],
            params["composite"]["training"]["class_map"],
            video["recognition"],
        )
        timed(
            "classify first call: VGG-16 build + compile",
            nodes.classify_intervals,
            *classify_inputs,
        )
        seconds["load models (once per run)"] += seconds.pop(
            "classify first call: VGG-16 build + compile"
        )
        timed("classify_intervals (warm)", nodes.classify_intervals, *classify_inputs)
        per_run = seconds.pop("load models (once per run)")
    else:
        print("trained models missing: classify_intervals not measured")
    row = index.iloc[0]
    duration = float(row["duration_s"])
    total = sum(seconds.values())
    print(
        f"video: {args.video.name}, {row['width']}x{row['height']}, {row['fps']:.0f} fps, {duration:.1f} s, "
        f"{len(intervals)} intervals, tracker {video['tracking']['tracker']}"
    )
    for name, value in seconds.items():
        print(f"  {name:45s} {value:7.2f} s  {value / duration:6.3f} x real time")
    print(
        f"  {'total (per video)':45s} {total:7.2f} s  {total / duration:6.3f} x real time"
    )
    if per_run is not None:
        print(
            f"  {'models + VGG-16 build/compile (once per run)':45s} {per_run:7.2f} s"
        )
    print(
        f"  os.cpu_count()={os.cpu_count()}, load average {os.getloadavg()}",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
