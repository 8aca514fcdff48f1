"""Scale-out: the casme2 pipeline, sequential vs ``DaskRunner`` on a LocalCluster.

    python benchmarks/dask_scaling.py [--quick] [--scales 1 2 4] [--workers 2]

For each scale (1x, 2x, 4x the clips of the ``tiny`` synthetic set: 4
subjects x 4, 8, 16 clips) it generates a CASME-II-layout synthetic release
(the synthetic generator's own parameters, ``clips_per_subject`` scaled), then
in cold copies of a scratch project (``--work``, default a temporary folder)
runs, once with the ``SequentialRunner`` and once with
``me_emotion.runner.DaskRunner`` on a ``LocalCluster`` of ``--workers``
worker processes (one thread each):

1. the per-clip stages: clip index, frame sampling, faces, crops, embeddings,
   optical flow (``--to-nodes casme2.embed_face_crops,casme2.extract_flow_features``);
2. training: model inputs, folds, every model, pooled predictions, metrics.

Each run is a process of its own: wall seconds of the run (the LocalCluster's
start included), peak memory of the whole process tree (driver, nanny and
workers; sampled every 0.2 s), seconds per clip of the per-clip stages, and
seconds per clip added beyond the smallest set (start-up, imports and model
building are paid once per run: they cancel out there). MLflow tracking is
off in both runners (``ME_EMOTION_TRACKING=off``).
``--quick``: 1x and 2x with the test suite's tiny settings (random VGG-16
weights, 32-px images, Farneback flow, one-epoch models, one split); without
it, the project's parameters (HED weights, 224-px images, every protocol).
Prints ``uptime``, the CPU model and flags, a table, and a JSON summary as the
last line. Results are on SYNTHETIC data.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

PROJECT = Path(__file__).resolve().parents[1]
TINY_SUBJECTS, TINY_CLIPS_PER_SUBJECT = 4, 4  # conf/base/parameters_synthetic.yml
STAGES = {
    "per_clip": {
        "to_nodes": ["casme2.embed_face_crops", "casme2.extract_flow_features"]
    },
    "training": {
        "from_nodes": ["casme2.assemble_model_inputs"],
        "to_nodes": ["casme2.compute_metrics"],
    },
}
QUICK_MODELS = {  # the test suite's tiny models (tests/pipelines/training/conftest.py)
    "hybrid_micronet": {
        "filters": [4, 8],
        "embedding_units": 8,
        "fusion_units": 8,
        "epochs": 1,
    },
    "cnn": {"filters": [4, 8], "epochs": 1},
    "ann": {"hidden_units": [8], "epochs": 2},
    "flow_cnn": {"branch_filters": [2, 3], "epochs": 2},
    "au_enhanced": {"n_clusters": 2, "n_components": 2},
    "au_predicted": {"n_clusters": 2, "n_components": 2},
}
QUICK_PARAMS = {
    "vgg16_weights": None,  # the catalog's casme2.vgg16_weights: random weights
    "casme2": {
        "feature_extraction": {
            "image": {"size": 32, "border_px": 1},
            "flow": {"method": "farneback", "grid": 8},
        },
        "training": {
            "image": {"size": 32, "border_px": 1},
            "models": QUICK_MODELS,
            "protocols": ["paper_random_split"],
        },
    }
}


def cpu_facts() -> dict:
    """CPU model, the vector / matrix flags the embeddings use, usable cores."""
    first_cpu = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
    info = {
        key.strip(): value.strip()
        for key, _, value in (line.partition(":") for line in first_cpu.splitlines())
    }
    return {
        "cpu_model": info.get("model name", "unknown"),
        "cpu_flags": sorted(
            set(info.get("flags", "").split())
            & {"avx2", "avx512f", "avx512_bf16", "amx_bf16"}
        ),
        "cores": len(os.sched_getaffinity(0)),
    }


def synthetic_params(scale: int) -> dict:
    return {
        "synthetic": {
            "size": "tiny",
            "sizes": {"tiny": {"clips_per_subject": TINY_CLIPS_PER_SUBJECT * scale}},
        }
    }


def scratch_project(folder: Path) -> Path:
    """A copy of the project's configuration; its data/ starts empty."""
    folder.mkdir(parents=True)
    shutil.copy(PROJECT / "pyproject.toml", folder / "pyproject.toml")
    shutil.copytree(PROJECT / "conf", folder / "conf")
    for path in (folder / "conf/local").iterdir():
        if path.name != ".gitkeep":
            path.unlink()
    (folder / "src").mkdir()
    return folder


def child(spec: dict) -> None:
    """One run in this process (the parent measures its process tree)."""
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415
    from kedro.runner import SequentialRunner  # noqa: PLC0415

    from me_emotion.runner import DaskRunner  # noqa: PLC0415

    project = Path(spec["project"])
    os.chdir(project)
    bootstrap_project(project)
    if spec["runner"] == "dask":
        runner = DaskRunner(n_workers=spec["workers"], threads_per_worker=1)
    else:
        runner = SequentialRunner()
    with KedroSession.create(
        project_path=project, runtime_params=spec["params"]
    ) as session:
        start = time.perf_counter()
        session.run(pipeline_names=[spec["pipeline"]], runner=runner, **spec["nodes"])
        seconds = time.perf_counter() - start
    print("RESULT " + json.dumps({"run_s": round(seconds, 2)}), flush=True)


def measured(spec: dict, log: Path) -> dict:
    """Run ``spec`` in a child process: its run seconds and peak tree memory."""
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "ME_EMOTION_TRACKING": "off",  # no MLflow run or logging in either runner
    }
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PROJECT / "src"), *filter(None, [env.get("PYTHONPATH")])]
    )
    command = [sys.executable, __file__, "--child", json.dumps(spec)]
    peak = 0
    with log.open("w") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env
        )
        tree = psutil.Process(process.pid)
        while process.poll() is None:
            total = 0
            for member in [tree, *tree.children(recursive=True)]:
                try:
                    total += member.memory_info().rss
                except psutil.Error:  # ended between listing and reading
                    pass
            peak = max(peak, total)
            time.sleep(0.2)
    text = log.read_text()
    if process.returncode:
        sys.exit(f"run failed ({log}):\n{text[-4000:]}")
    result = json.loads(text.rsplit("RESULT ", 1)[1].splitlines()[0])
    return {**result, "peak_memory_mb": round(peak / 2**20)}


def uptime() -> str:
    return subprocess.run(
        ["uptime"], capture_output=True, text=True, check=False
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1x, 2x; tiny settings")
    parser.add_argument("--scales", type=int, nargs="+", default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    scales = args.scales or ([1, 2] if args.quick else [1, 2, 4])
    params = QUICK_PARAMS if args.quick else {}
    work = Path(args.work or tempfile.mkdtemp(prefix="me_emotion_dask_"))
    facts = cpu_facts()
    print(f"uptime: {uptime()}")
    print(
        f"CPU: {facts['cpu_model']}, {facts['cores']} cores, flags {facts['cpu_flags']}; "
        f"scratch {work}; SYNTHETIC data",
        flush=True,
    )
    rows = []
    for scale in scales:
        release = scratch_project(work / f"{scale}x/release")
        generated = measured(
            {
                "project": str(release),
                "runner": "sequential",
                "pipeline": "synthetic_releases",
                "nodes": {"namespaces": ["synthetic_casme2"]},
                "params": synthetic_params(scale),
            },
            work / f"{scale}x/generate.log",
        )
        clips = TINY_SUBJECTS * TINY_CLIPS_PER_SUBJECT * scale
        for runner in ("sequential", "dask"):
            project = scratch_project(work / f"{scale}x/{runner}")
            shutil.copytree(release / "data/01_raw", project / "data/01_raw")
            row = {"scale": scale, "clips": clips, "runner": runner}
            for stage, nodes in STAGES.items():
                result = measured(
                    {
                        "project": str(project),
                        "runner": runner,
                        "workers": args.workers,
                        "pipeline": "casme2",
                        "nodes": nodes,
                        "params": params,
                    },
                    work / f"{scale}x/{runner}-{stage}.log",
                )
                row[f"{stage}_s"] = result["run_s"]
                row[f"{stage}_peak_mb"] = result["peak_memory_mb"]
            row["per_clip_s_per_clip"] = round(row["per_clip_s"] / clips, 3)
            rows.append(row)
            print(
                f"{scale}x ({clips:3d} clips, generated in {generated['run_s']:6.1f} s) "
                f"{runner:<10} per-clip stages {row['per_clip_s']:7.1f} s "
                f"({row['per_clip_s_per_clip']:.3f} s/clip, peak {row['per_clip_peak_mb']} MB)"
                f"  training {row['training_s']:7.1f} s (peak {row['training_peak_mb']} MB)",
                flush=True,
            )
    summary = {}
    for runner in ("sequential", "dask"):
        mine = [r for r in rows if r["runner"] == runner]
        per_clip = [r["per_clip_s_per_clip"] for r in mine]
        summary[runner] = {
            "s_per_clip": per_clip,
            "s_per_clip_spread": round(max(per_clip) / min(per_clip) - 1, 3),
            # the cost of each clip beyond the smallest set: start-up, imports
            # and model building (fixed costs) cancel out
            "marginal_s_per_clip": [
                round(
                    (r["per_clip_s"] - mine[0]["per_clip_s"])
                    / (r["clips"] - mine[0]["clips"]),
                    3,
                )
                for r in mine[1:]
            ],
        }
    summary["speedup"] = {
        f"{scale}x": {
            stage: round(
                next(
                    r
                    for r in rows
                    if r["scale"] == scale and r["runner"] == "sequential"
                )[f"{stage}_s"]
                / next(
                    r for r in rows if r["scale"] == scale and r["runner"] == "dask"
                )[f"{stage}_s"],
                2,
            )
            for stage in STAGES
        }
        for scale in scales
    }
    for runner in ("sequential", "dask"):
        print(
            f"{runner}: seconds per clip {summary[runner]['s_per_clip']} "
            f"(spread {summary[runner]['s_per_clip_spread']:.1%}); beyond "
            f"{scales[0]}x: {summary[runner]['marginal_s_per_clip']} s per added clip"
        )
    print(f"speed-up of DaskRunner ({args.workers} workers): {summary['speedup']}")
    print(f"uptime: {uptime()}")
    print(
        json.dumps(
            {
                **facts,
                "data": "SYNTHETIC",
                "quick": args.quick,
                "workers": args.workers,
                "rows": rows,
                **summary,
            }
        )
    )


if __name__ == "__main__":
    main()
