"""Face stage throughput and memory: the Kedro pipeline vs a plain serial cv2 loop.

Run on demand (not part of the test suite), on an otherwise idle machine:

    kedro run --pipelines=synthetic          # once: the default synthetic set
    python benchmarks/face_stage.py          # measures this project's data
    python benchmarks/face_stage.py --size casme2_sized --workdir /tmp/face_bench

With ``--size`` the synthetic set of that size is generated (once) in a scratch
copy of the project under ``--workdir``, so this project's data is untouched.

What is measured, in this order:
1. peak RSS: ``kedro run --pipelines=<dataset>`` (ingestion -> preprocessing ->
   face stage, from scratch) in a child process; its ``ru_maxrss``.
2. pipeline: the face stage's detect + crop + CLAHE as Kedro runs it
   (``--from-nodes=<dataset>.detect_faces --to-nodes=<dataset>.crop_faces``),
   through a KedroSession in this process, timed by hooks from the first
   input load of ``detect_faces`` to the save of the last crop partition:
   reading the sampled frames, both nodes, writing the box tables and every
   crop partition. The whole ``session.run`` (adding Kedro's start-up) is
   reported too.
3. serial loop: plain single-threaded cv2 (``cv2.setNumThreads(1)``) doing the
   same detect + crop + resize + CLAHE on the same sampled frames, read with
   the same ``ClipFramesDataset``, keeping the crops in memory (no writes).
   For reference also with cv2's default internal threading.
frames/s = sampled frames of every clip / seconds (median of ``--repeats``,
interleaved); ratio = pipeline frames/s / serial frames/s. The loop's crops
are compared with the pipeline's, so both really did the same work.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import yaml
from kedro.framework.hooks import hook_impl
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.pipeline import Node

from me_emotion.datasets import ClipFramesDataset, HaarCascadeDataset

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
# the cascade the project's {namespace}.haar_cascade catalog entry names
CASCADE = yaml.safe_load(
    (PROJECT_ROOT / "conf/base/catalog_frames_faces.yml").read_text()
)["{namespace}.haar_cascade"]["cascade"]


def kedro(project: Path, *args: str) -> float:
    """Run ``kedro <args>`` in ``project`` as a child process; its wall time."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "kedro", *args],
        cwd=project,
        env=ENV,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def scratch_project(workdir: Path, size: str) -> Path:
    """A copy of this project's configuration in ``workdir`` holding a ``size`` set."""
    (workdir / "src").mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", workdir / "pyproject.toml")
    shutil.copytree(PROJECT_ROOT / "conf", workdir / "conf", dirs_exist_ok=True)
    for path in (workdir / "conf" / "local").iterdir():
        if path.name != ".gitkeep":
            path.unlink()
    manifest = workdir / "data/01_raw/synthetic/casme2/SYNTHETIC_DATA.json"
    if not manifest.is_file() or f'"size": "{size}"' not in manifest.read_text():
        print(f"generating the '{size}' synthetic set in {workdir} ...", flush=True)
        seconds = kedro(
            workdir, "run", "--pipelines=synthetic", f"--params=synthetic.size={size}"
        )
        print(f"  done in {seconds:.0f} s", flush=True)
    return workdir


def busy_cpu_share(seconds: float = 2.0) -> float:
    """Share of all cores' time spent busy (by any process) over ``seconds``."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split()[1:9]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(total1 - total0, 1)


def peak_rss_of_pipeline_run(project: Path, dataset: str) -> tuple[float, float]:
    """Peak RSS (GiB) and wall time (s) of a full ``kedro run --pipelines=<dataset>``."""
    seconds = kedro(project, "run", f"--pipelines={dataset}")
    # Max over waited-for children; this must be the largest child of the script.
    kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return kib / 2**20, seconds


class StageClock:
    """Kedro hooks timing a stage: first input load of its first node -> a save."""

    def __init__(self, first_node: str, last_dataset: str):
        self._first_node, self._last_dataset = first_node, last_dataset
        self.start = self.end = None

    @hook_impl
    def before_dataset_loaded(self, dataset_name: str, node: Node) -> None:
        if node.name == self._first_node and self.start is None:
            self.start = time.perf_counter()

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        if dataset_name == self._last_dataset:
            self.end = time.perf_counter()


def time_pipeline_face_stage(project: Path, dataset: str) -> tuple[float, float]:
    """Seconds of detect_faces + crop_faces inside a Kedro run, and of the whole run.

    The stage is timed from the first input load of ``detect_faces`` to the
    save of the last crop partition; the whole run adds Kedro's start-up
    (configuration, catalog), which does not grow with the data.
    """
    bootstrap_project(project)
    clock = StageClock(f"{dataset}.detect_faces", f"{dataset}.face_crops")
    with KedroSession.create(project_path=project) as session:
        session._hook_manager.register(
            clock
        )  # no public API to add a hook to a session
        logging.getLogger("kedro").setLevel(logging.WARNING)
        start = time.perf_counter()
        session.run(
            pipeline_names=[dataset],
            from_nodes=[f"{dataset}.detect_faces"],
            to_nodes=[f"{dataset}.crop_faces"],
        )
        return clock.end - clock.start, time.perf_counter() - start


def serial_face_stage(
    partitions: dict[str, Path], params: dict, threads: int
) -> tuple[float, dict[str, np.ndarray]]:
    """A plain loop: detect on the first frame (then later ones), crop, resize, CLAHE.

    It tries the first ``max_frames_tried`` distinct frames where the pipeline
    spreads its tries over longer clips: the same work for every clip with a
    face on its first frame, and for every clip of the ``paper`` strategy.
    """
    default_threads = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    try:
        # the project's cascade, as the {dataset}.haar_cascade catalog entry loads it
        cascade = HaarCascadeDataset(CASCADE).load().classifier()
        clahe = cv2.createCLAHE(
            clipLimit=params["clahe"]["clip_limit"],
            tileGridSize=tuple(params["clahe"]["tile_grid_size"]),
        )
        size, margin = params["crop_size"], params["margin"]
        crops = {}
        start = time.perf_counter()
        for key, path in partitions.items():
            clip = ClipFramesDataset(str(path)).load()
            frames, numbers = clip.frames, clip.frame_numbers
            _, first = np.unique(numbers, return_index=True)
            faces = []
            for position in sorted(first)[: params["max_frames_tried"]]:
                faces = cascade.detectMultiScale(
                    frames[position],
                    scaleFactor=params["scale_factor"],
                    minNeighbors=params["min_neighbors"],
                    minSize=tuple(params["min_size"]),
                )
                if len(faces):
                    break
            if not len(faces):
                continue
            x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
            height, width = frames.shape[1:]
            side = min(round(max(w, h) * (1 + 2 * margin)), height, width)
            left = min(max(round(x + w / 2 - side / 2), 0), width - side)
            top = min(max(round(y + h / 2 - side / 2), 0), height - side)
            interpolation = cv2.INTER_AREA if side >= size else cv2.INTER_LINEAR
            crops[key] = np.stack(
                [
                    clahe.apply(
                        cv2.resize(
                            frame[top : top + side, left : left + side],
                            (size, size),
                            interpolation=interpolation,
                        )
                    )
                    for frame in frames
                ]
            )
        return time.perf_counter() - start, crops
    finally:
        cv2.setNumThreads(default_threads)


def npz_partitions(folder: Path) -> dict[str, Path]:
    """``{"<subject>/<clip>": path}`` of a partitioned ``.npz`` folder."""
    return {
        path.relative_to(folder).with_suffix("").as_posix(): path
        for path in sorted(folder.rglob("*.npz"))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="casme2", choices=["casme2", "samm"])
    parser.add_argument("--size", help="generate this synthetic size in --workdir")
    parser.add_argument(
        "--workdir", type=Path, default=Path("/tmp/me_emotion_face_bench")
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    project = scratch_project(args.workdir, args.size) if args.size else PROJECT_ROOT
    dataset = args.dataset
    os.chdir(project)  # relative catalog paths resolve against the project

    cores = len(os.sched_getaffinity(0))
    busy = busy_cpu_share()
    print(f"project {project}, dataset {dataset}, {cores} cores, cv2 {cv2.__version__}")
    print(f"CPU busy before the run (other processes): {busy:.0%}")
    if busy > 0.1:
        print("WARNING: the machine is not idle; timings are shared with other work")

    rss_gib, full_seconds = peak_rss_of_pipeline_run(project, dataset)

    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        context = session.load_context()
        params = context.params[dataset]["face_detection"]
    manifest = project / f"data/01_raw/synthetic/{dataset}/SYNTHETIC_DATA.json"
    size = json.loads(manifest.read_text())["size"] if manifest.is_file() else "?"
    partitions = npz_partitions(
        project / f"data/02_intermediate/{dataset}/sampled_frames"
    )
    n_clips = len(partitions)
    n_frames = sum(
        len(ClipFramesDataset(str(path)).load().frame_numbers)
        for path in partitions.values()
    )

    pipeline_s, session_s, serial_s, serial_default_s = [], [], [], []
    crops = {}
    for _ in range(args.repeats):  # interleaved, so drift hits both alike
        stage, whole = time_pipeline_face_stage(project, dataset)
        pipeline_s.append(stage)
        session_s.append(whole)
        seconds, crops = serial_face_stage(partitions, params, threads=1)
        serial_s.append(seconds)
        serial_default_s.append(serial_face_stage(partitions, params, threads=-1)[0])

    same = sum(
        key in crops
        and np.array_equal(ClipFramesDataset(str(path)).load().frames, crops[key])
        for key, path in npz_partitions(
            project / f"data/03_primary/{dataset}/face_crops"
        ).items()
    )
    boxes = pd.read_parquet(project / f"data/03_primary/{dataset}/face_boxes.parquet")

    def rate(seconds: list[float]) -> float:
        return n_frames / statistics.median(seconds)

    def runs(seconds: list[float]) -> str:
        return ", ".join(f"{s:.2f}" for s in seconds) + " s"

    pipeline_rate, serial_rate = rate(pipeline_s), rate(serial_s)
    print(f"synthetic set '{size}': {n_clips} clips, {n_frames} sampled frames")
    print(f"faces found: {len(boxes)}/{n_clips} clips ({len(boxes) / n_clips:.1%})")
    print(f"crops identical to the pipeline's: {same}/{len(boxes)}")
    threads = params["workers"] or cores
    print(
        f"detect+crop+CLAHE as run by the pipeline ({threads} threads): "
        f"{pipeline_rate:.1f} frames/s  (runs: {runs(pipeline_s)})"
    )
    print(
        f"  the same with Kedro's start-up (whole session.run): "
        f"{rate(session_s):.1f} frames/s  (runs: {runs(session_s)})"
    )
    print(
        f"plain serial cv2 loop (cv2.setNumThreads(1)): "
        f"{serial_rate:.1f} frames/s  (runs: {runs(serial_s)})"
    )
    print(
        f"plain serial cv2 loop (cv2 default threads): "
        f"{rate(serial_default_s):.1f} frames/s  (runs: {runs(serial_default_s)})"
    )
    print(
        f"ratio pipeline / serial loop: {pipeline_rate / serial_rate:.2f} "
        f"(with Kedro's start-up: {rate(session_s) / serial_rate:.2f})"
    )
    print(
        f"peak RSS of `kedro run --pipelines={dataset}`: {rss_gib:.2f} GiB "
        f"(run took {full_seconds:.0f} s)"
    )


if __name__ == "__main__":
    main()
