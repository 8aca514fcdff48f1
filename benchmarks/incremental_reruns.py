"""What a re-run costs with ``IncrementalRunner``: nothing changed, 10% more
clips, one face-detection parameter changed -- against the cold run.

Run on demand, after ``kedro run --pipelines=synthetic`` (not in the tests):

    python benchmarks/incremental_reruns.py [--release data/01_raw/synthetic] [--json]

In a scratch copy of the project (``--work``, default a temporary folder) it
copies the CASME-II-layout release, holds back every tenth clip folder, and
times four runs of
``kedro run --pipelines=casme2 --runner=me_emotion.runner.IncrementalRunner``:

1. cold (90% of the clips; the held-back ones are rejected as missing);
2. nothing changed;
3. the held-back clips restored (about 10% more clips);
4. ``--params casme2.face_detection.margin=...`` changed.

For each run: wall seconds, the nodes that ran, and the seconds of the
per-clip stages (sampling, faces, embeddings, flow) from the runner's
per-node durations. Prints the CPU model; ``--json`` adds a JSON summary as
the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
PER_CLIP_NODES = {
    "casme2.sample_frames",
    "casme2.detect_faces",
    "casme2.crop_faces",
    "casme2.embed_face_crops",
    "casme2.extract_flow_features",
}
COMPLETED = re.compile(r"Completed node: (\S+) \(([\d.]+) s\)")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def scratch_project(work: Path, release: Path) -> tuple[Path, list[Path]]:
    """A project copy with the casme2 release, every tenth clip folder held back."""
    shutil.copy(PROJECT / "pyproject.toml", work / "pyproject.toml")
    shutil.copytree(PROJECT / "conf", work / "conf")
    for path in (work / "conf/local").iterdir():
        if path.name != ".gitkeep":
            path.unlink()
    (work / "src").mkdir()
    target = work / "data/01_raw/synthetic/casme2"
    shutil.copytree(release / "casme2", target)
    plan = pd.read_parquet(target / "clip_plan_SYNTHETIC.parquet")
    held = work / "held_back"
    moved = []
    for row in plan.iloc[::10].itertuples():
        folder = target / "frames" / row.subject_dir / row.clip
        destination = held / row.subject_dir / row.clip
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(folder, destination)
        moved.append(destination)
    return target, moved


def timed_run(work: Path, extra: list[str]) -> dict:
    command = [
        "kedro",
        "run",
        "--pipelines=casme2",
        "--runner=me_emotion.runner.IncrementalRunner",
        *extra,
    ]
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "COLUMNS": "400",  # one log record per line, for the duration parser
    }
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=work, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    log = result.stdout + result.stderr
    if result.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{log[-4000:]}")
    nodes = {name: float(s) for name, s in COMPLETED.findall(log)}
    return {
        "wall_s": round(seconds, 1),
        "nodes_run": sorted(nodes),
        "per_clip_stage_s": round(sum(nodes.get(n, 0.0) for n in PER_CLIP_NODES), 1),
        "node_s": nodes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", default=str(PROJECT / "data/01_raw/synthetic"))
    parser.add_argument("--work", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="me_emotion_reruns_"))
    work.mkdir(parents=True, exist_ok=True)
    release, held_back = scratch_project(work, Path(args.release))
    print(f"CPU: {cpu_model()}, {len(os.sched_getaffinity(0))} cores; scratch {work}")

    runs = {"cold": timed_run(work, [])}
    runs["nothing_changed"] = timed_run(work, [])
    for folder in held_back:  # the held-back clips arrive
        shutil.move(folder, release / "frames" / folder.parent.name / folder.name)
    runs["ten_percent_more_clips"] = timed_run(work, [])
    runs["face_parameter_changed"] = timed_run(
        work, ["--params", "casme2.face_detection.margin=0.22"]
    )

    cold = runs["cold"]
    for name, run in runs.items():
        print(
            f"{name:<24} {run['wall_s']:7.1f} s wall ({run['wall_s'] / cold['wall_s']:5.1%}"
            f" of cold); per-clip stages {run['per_clip_stage_s']:6.1f} s "
            f"({run['per_clip_stage_s'] / max(cold['per_clip_stage_s'], 1e-9):5.1%}"
            f" of cold); {len(run['nodes_run'])} nodes ran"
        )
    print(
        "face parameter changed, nodes run:",
        runs["face_parameter_changed"]["nodes_run"],
    )
    if args.json:
        print(
            json.dumps(
                {
                    "cpu_model": cpu_model(),
                    "clips_held_back": len(held_back),
                    "runs": runs,
                }
            )
        )


if __name__ == "__main__":
    main()
