"""Real-time factor of ``me-emotion-video``, end to end: processing seconds / video seconds.

Run on demand (not part of the test suite), with the trained models present:

    kedro run --pipelines=synthetic_releases && kedro run --pipelines=casme2 \\
        && kedro run --pipelines=samm && kedro run --pipelines=synthetic_videos
    python benchmarks/video_realtime.py --json
    python benchmarks/video_realtime.py VIDEO [--tracker haar] [--model flow_cnn] [--cores 2]
    python benchmarks/video_realtime.py --generate --cores 2 --json  # the 60 s video

``--generate`` renders the synthetic generator's ``benchmark`` size (one 60 s
30 fps 640x480 standard-profile video, dev seed; conf/base/parameters_synthetic.yml)
into data/01_raw/synthetic/benchmark/ once, in a child process, so the
clock of the timed run does not include it.

Without VIDEO it takes the synthetic video closest to 60 s at 30 fps, 640x480
(data/01_raw/synthetic/videos). The video runs as the command runs it: the
``video`` pipeline through a ``KedroSession`` in the ``video_cli``
environment, outputs in a temporary folder. The clock starts when this Python
process starts (imports, Kedro start-up, model loading included) and stops
when the session is closed; hooks time every node and every dataset load and
save. Stages, each a share of the total:

- start-up: process start to the first node (imports, Kedro session,
  configuration, pipeline and catalog);
- tracking, spotting signal, spotting, crops, recognition: the nodes
  ``track_faces``, ``compute_spotting_signals``, ``spot_intervals``,
  ``extract_interval_crops``, ``classify_intervals`` (what they do inside,
  VGG-16 set-up included, counts for them);
- model loading: loading the trained models' datasets (``*keras_model*``,
  ``*vgg16_weights*``, ``*trained_models*``); the Keras models the video
  stage uses are read by ``classify_intervals`` itself (the
  ``video.recognition_models`` loaders read only the chosen ones), so their
  reading counts for recognition;
- agreement/report: ``describe_model_sources``, ``measure_agreement``,
  ``summarise_videos``, ``evaluate_spotting``, ``draw_timelines``,
  ``render_video_report``;
- other nodes: any node not named above (listed under ``nodes``);
- catalog I/O: every other dataset load and save;
- rest: the difference to the total (Kedro's runner, hooks, session close).

``--json`` prints one JSON object on stdout; the pipeline's progress lines go
to stderr as the command's do.
"""

from __future__ import annotations

import os
import time

START = time.perf_counter()  # as early as possible; the process start is read below


def _seconds_since_process_start() -> float:
    """How long this process has existed (Linux /proc), else 0."""
    try:
        fields = open("/proc/self/stat").read().rsplit(")", 1)[1].split()  # noqa: PTH123, SIM115
        started_ticks = int(fields[19])  # field 22: starttime, clock ticks after boot
        uptime = float(open("/proc/uptime").read().split()[0])  # noqa: PTH123, SIM115
        return max(0.0, uptime - started_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


PROCESS_START = START - _seconds_since_process_start()

import argparse  # noqa: E402 - after the clock
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from kedro.framework.hooks import hook_impl  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEOS = PROJECT / "data" / "01_raw" / "synthetic" / "videos"
BENCHMARK_VIDEOS = PROJECT / "data" / "01_raw" / "synthetic" / "benchmark"
TARGET = {"fps": 30.0, "width": 640, "height": 480, "duration_s": 60.0}
ENVIRONMENT = "video_cli"
NODE_STAGES = {
    "track_faces": "tracking",
    "compute_spotting_signals": "spotting signal",
    "spot_intervals": "spotting",
    "extract_interval_crops": "crops",
    "classify_intervals": "recognition",
    "describe_model_sources": "agreement/report",
    "measure_agreement": "agreement/report",
    "summarise_videos": "agreement/report",
    "evaluate_spotting": "agreement/report",
    "draw_timelines": "agreement/report",
    "render_video_report": "agreement/report",
}
MODEL_DATASETS = re.compile(r"keras_model|vgg16_weights|trained_models")
STAGES = (
    "start-up",
    "tracking",
    "spotting signal",
    "spotting",
    "crops",
    "model loading",
    "recognition",
    "agreement/report",
    "other nodes",
    "catalog I/O",
    "rest",
)


def video_metadata(path: Path) -> dict[str, Any]:
    """fps, width, height, duration of a video file (OpenCV)."""
    import cv2  # noqa: PLC0415

    capture = cv2.VideoCapture(str(path))
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS)) or 0.0
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        return {
            "fps": fps,
            "width": int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            "frames": frames,
            "duration_s": frames / fps if fps else 0.0,
        }
    finally:
        capture.release()


def default_video(folder: Path) -> Path:
    """The video of ``folder`` at 30 fps, 640x480 whose length is closest to 60 s."""
    candidates = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in {".mp4", ".avi", ".mov", ".mkv"}:
            continue
        meta = video_metadata(path)
        if round(meta["fps"]) == TARGET["fps"] and (meta["width"], meta["height"]) == (
            TARGET["width"],
            TARGET["height"],
        ):
            candidates.append((abs(meta["duration_s"] - TARGET["duration_s"]), path))
    if not candidates:
        raise SystemExit(
            f"no 30 fps 640x480 video in {folder}: run `kedro run "
            "--pipelines=synthetic_videos` or name a video"
        )
    return min(candidates)[1]


def generate_video(folder: Path) -> Path:
    """The synthetic ``benchmark`` video in ``folder`` (rendered once, then reused)."""
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    from me_emotion.datasets.video_writer import write_video  # noqa: PLC0415
    from me_emotion.pipelines.synthetic.video import (  # noqa: PLC0415
        ground_truth_tables,
        plan_videos,
        render_videos,
    )

    bootstrap_project(PROJECT)
    with KedroSession.create(project_path=PROJECT) as session:
        context = session.load_context()
        params = {**context.params["synthetic_videos"], "size": "benchmark"}
        photos = context.catalog.load("face_photos")
    plan, events = plan_videos(params)
    for name, video in render_videos(photos, plan, events, params).items():
        path = folder / name
        if not path.exists():
            write_video(path, video)
    for stem, table in ground_truth_tables(events).items():
        table.to_csv(folder / f"{stem}.ground_truth.csv", index=False)
    return folder / str(plan["video"].iloc[0])


class StageTimer:
    """Kedro hooks: seconds per node and per dataset load / save."""

    def __init__(self) -> None:
        self.first_event: float | None = None
        self.first_event_cpu = 0.0
        self.nodes: dict[str, float] = defaultdict(float)
        self.loads: dict[str, float] = defaultdict(float)
        self.saves: dict[str, float] = defaultdict(float)
        # CPU seconds (every thread of the process) beside the wall seconds
        self.cpu: dict[tuple[str, str], float] = defaultdict(float)
        self.counts: dict[str, int] = {}
        self._started: dict[tuple[str, str], tuple[float, float]] = {}

    def _start(self, kind: str, name: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        if self.first_event is None:
            self.first_event, self.first_event_cpu = now, cpu
        self._started[(kind, name)] = (now, cpu)

    def _stop(self, kind: str, name: str) -> float:
        wall, cpu = self._started.pop((kind, name))
        self.cpu[(kind, name)] += time.process_time() - cpu
        return time.perf_counter() - wall

    @hook_impl
    def before_dataset_loaded(self, dataset_name: str) -> None:
        self._start("load", dataset_name)

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str) -> None:
        self.loads[dataset_name] += self._stop("load", dataset_name)

    @hook_impl
    def before_node_run(self, node) -> None:  # noqa: ANN001 - Kedro's Node
        self._start("node", node.name)

    @hook_impl
    def after_node_run(self, node, outputs: dict[str, Any]) -> None:  # noqa: ANN001
        self.nodes[node.name] += self._stop("node", node.name)
        for name, value in outputs.items():
            if name.endswith("spotted_intervals") and hasattr(value, "__len__"):
                self.counts["intervals"] = len(value)
                if "kind" in getattr(value, "columns", ()):
                    self.counts["micro_intervals"] = int(
                        (value["kind"] == "micro").sum()
                    )

    @hook_impl
    def before_dataset_saved(self, dataset_name: str) -> None:
        self._start("save", dataset_name)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        self.saves[dataset_name] += self._stop("save", dataset_name)


def _stage(kind: str, name: str) -> str:
    if kind == "node":
        return NODE_STAGES.get(name.rsplit(".", 1)[-1], "other nodes")
    if kind == "load" and MODEL_DATASETS.search(name):
        return "model loading"
    return "catalog I/O"


def stage_seconds(
    timer: StageTimer, total: float, total_cpu: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Wall and CPU seconds per stage of ``STAGES``; each sums to its total."""
    seconds = dict.fromkeys(STAGES, 0.0)
    first = timer.first_event if timer.first_event is not None else START
    seconds["start-up"] = first - PROCESS_START
    tables = (("node", timer.nodes), ("load", timer.loads), ("save", timer.saves))
    for kind, table in tables:
        for name, value in table.items():
            seconds[_stage(kind, name)] += value
    seconds["rest"] = total - sum(v for k, v in seconds.items() if k != "rest")
    cpu = dict.fromkeys(STAGES, 0.0)
    cpu["start-up"] = timer.first_event_cpu
    for (kind, name), value in timer.cpu.items():
        cpu[_stage(kind, name)] += value
    cpu["rest"] = total_cpu - sum(v for k, v in cpu.items() if k != "rest")
    return seconds, cpu


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "video",
        type=Path,
        nargs="?",
        help="default: the synthetic 60 s 30 fps 640x480 video",
    )
    parser.add_argument("--tracker", choices=("haar", "landmarks"))
    parser.add_argument("--model", help="as me-emotion-video --model")
    parser.add_argument(
        "--params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="as me-emotion-video --params (repeatable)",
    )
    parser.add_argument(
        "--cores", type=int, help="run on this many CPU cores (sched_setaffinity)"
    )
    parser.add_argument(
        "--generate",
        action="store_true",
        help="time the synthetic 60 s 30 fps 640x480 benchmark video (rendered "
        f"once into {BENCHMARK_VIDEOS.relative_to(PROJECT)})",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.generate and args.video is None:
        # rendered in a child process: this process's clock times the analysis only
        import subprocess  # noqa: PLC0415

        code = (
            "import sys, runpy; sys.path.insert(0, 'benchmarks'); "
            "m = runpy.run_path('benchmarks/video_realtime.py', run_name='bench'); "
            f"print(m['generate_video'](m['Path']({str(BENCHMARK_VIDEOS)!r})))"
        )
        made = subprocess.run(  # noqa: S603 - this interpreter, this file
            [sys.executable, "-c", code],
            cwd=PROJECT,
            check=True,
            capture_output=True,
            text=True,
        )
        video = made.stdout.strip().splitlines()[-1]
        os.execv(  # noqa: S606 - a fresh process: its clock starts now
            sys.executable,
            [sys.executable, __file__, video, *sys.argv[1:]],
        )
    if args.cores:  # before TensorFlow and OpenCV size their thread pools
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])
    cores = len(os.sched_getaffinity(0))
    video = (args.video or default_video(DEFAULT_VIDEOS)).resolve()
    meta = video_metadata(video)
    load_before = os.getloadavg()

    from me_emotion import video_cli  # noqa: PLC0415 - after the clock and the affinity

    for key, value in video_cli.COMMAND_ENVIRONMENT.items():  # as the command sets them
        os.environ.setdefault(key, value)
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    overrides = video_cli.parse_params(args.params)
    if args.model:
        video_cli._merge(overrides, {"video": {"recognition": {"model": args.model}}})  # noqa: SLF001
    if args.tracker:
        video_cli._merge(overrides, {"video": {"tracking": {"tracker": args.tracker}}})  # noqa: SLF001
    timer = StageTimer()
    with tempfile.TemporaryDirectory(prefix="video_realtime_") as out:
        bootstrap_project(PROJECT)
        with (
            video_cli.quiet_logging(),
            KedroSession.create(
                project_path=PROJECT,
                env=ENVIRONMENT,
                runtime_params={
                    "video_inputs": [str(video)],
                    "video_out": out,
                    **overrides,
                },
            ) as session,
        ):
            context = session.load_context()
            catalog = context.catalog
            absent = video_cli.missing_datasets(
                catalog, context.params["video"]["recognition"]["model"]
            )
            if absent:
                raise SystemExit(
                    f"trained models missing: {', '.join(absent)}; run `kedro run "
                    "--pipelines=casme2` and `kedro run --pipelines=samm` first"
                )
            # No public way to add a hook to one session (settings.HOOKS is the project's).
            session._hook_manager.register(timer)  # noqa: SLF001
            session.run(pipeline_names=["video"])
        end, total_cpu = time.perf_counter(), time.process_time()
    total = end - PROCESS_START
    duration = meta["duration_s"]
    seconds, cpu = stage_seconds(timer, total, total_cpu)
    result = {
        "video": str(video),
        "width": meta["width"],
        "height": meta["height"],
        "fps": round(meta["fps"], 3),
        "duration_s": round(duration, 3),
        **timer.counts,
        "cores": cores,
        "cpu": cpu_model(),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "overrides": overrides,
        "total_s": round(total, 3),
        "real_time_factor": round(total / duration, 4) if duration else None,
        # CPU seconds of every thread: on a busy machine the wall clock waits
        # for other processes, CPU time does not (with `cores` cores, an idle
        # run takes at least cpu_s / cores)
        "cpu_s": round(total_cpu, 3),
        "stages": {
            name: {
                "seconds": round(value, 3),
                "share": round(value / total, 4),
                "x_real_time": round(value / duration, 4) if duration else None,
                "cpu_s": round(cpu[name], 3),
            }
            for name, value in seconds.items()
        },
        "nodes": {k: round(v, 3) for k, v in timer.nodes.items()},
        "model_loads": {
            k: round(v, 3) for k, v in timer.loads.items() if MODEL_DATASETS.search(k)
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"video: {video.name}, {meta['width']}x{meta['height']}, {meta['fps']:.0f} fps, "
        f"{duration:.1f} s, {timer.counts.get('intervals', '?')} intervals; "
        f"{cores} core(s) of {result['cpu']}; load average {load_before[0]:.1f} before"
    )
    for name, value in seconds.items():
        print(
            f"  {name:18s} {value:8.2f} s  {value / total:6.1%}  "
            f"{value / duration:6.3f} x real time  {cpu[name]:8.2f} CPU s"
        )
    print(
        f"  {'total':18s} {total:8.2f} s  100.0%  {total / duration:6.3f} x real time  "
        f"{total_cpu:8.2f} CPU s"
    )


if __name__ == "__main__":
    sys.exit(main())
