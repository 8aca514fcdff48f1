"""VGG-16 embedding throughput: the embedding node's real path vs float32 predict.

Run on demand (not part of the test suite):

    python benchmarks/vgg16_throughput.py [--images 96] [--batch-size 32] [--weights hed] [--json]

Measured in the same run, on the same images (face crops of
data/03_primary/casme2/face_crops when present, otherwise textured noise):

- baseline: ``keras.applications.VGG16`` built under float32, batched
  ``model.predict`` over every image -- the plain way;
- node: ``embed_face_crops`` itself (the function the pipeline runs: its
  batching across clips, augmentation, preprocessing and execution path) with
  the project's ``precision``/``execution`` parameters (``auto``/``auto``);
  the model is built once beforehand, and its build time is printed apart;
- candidates: every precision x execution path through the same batching,
  so a run on any CPU shows which path wins there.

Prints each path's images/s, ratio to the baseline and the smallest cosine
similarity of its embeddings to the baseline's, the CPU model and the flags
that matter; ``--json`` adds one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from me_emotion.core.augmentation import (  # noqa: E402
    model_images,
)
from me_emotion.core.clip_frames import ClipFrames, ClipFramesDataset  # noqa: E402
from me_emotion.core.vgg16 import (  # noqa: E402
    build_vgg16,
    cpu_supports_bf16,
    resolve_execution,
    resolve_precision,
    vgg_input,
)
from me_emotion.pipelines.feature_extraction import nodes  # noqa: E402

CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_vnni")
PARAMETERS = Path("conf/base/parameters_feature_extraction.yml")
FRAMES_PER_CLIP = 5


def cpu_facts() -> dict[str, object]:
    model, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cpu_flags": [flag for flag in CPU_FLAGS if flag in flags],
        "cores": len(os.sched_getaffinity(0)),
    }


def benchmark_crops(count: int) -> tuple[list[ClipFrames], str]:
    """``count`` 256x256 face crops as clips of ``FRAMES_PER_CLIP`` frames."""
    crops_dir = Path("data/03_primary/casme2/face_crops")
    frames: list[np.ndarray] = []
    for path in sorted(crops_dir.rglob("*.npz")):
        frames.extend(np.array(ClipFramesDataset(str(path)).load().frames))
        if len(frames) >= count:
            break
    source = f"{crops_dir} face crops"
    if len(frames) < count:
        rng = np.random.default_rng(0)
        frames = list(rng.integers(0, 256, size=(count, 256, 256), dtype=np.uint8))
        source = "random textures"
    frames = frames[:count]
    clips = []
    for start in range(0, count, FRAMES_PER_CLIP):
        chunk = np.stack(frames[start : start + FRAMES_PER_CLIP])
        numbers = np.arange(len(chunk), dtype=np.int64)
        clips.append(ClipFrames(chunk, numbers, 0, len(chunk) // 2, len(chunk) - 1))
    return clips, source


def node_inputs(clips: list[ClipFrames]) -> tuple[dict, pd.DataFrame]:
    partitions = [f"bench/clip{i:04d}" for i in range(len(clips))]
    loaders = {p: (lambda c=c: c) for p, c in zip(partitions, clips)}
    boxes = pd.DataFrame(
        {
            "dataset": "benchmark",
            "subject": "bench",
            "clip": [p.split("/")[1] for p in partitions],
            "partition": partitions,
            "label": "happiness",
        }
    )
    return loaders, boxes


def run_node(loaders, boxes, params, model, info) -> tuple[np.ndarray, float]:
    """``embed_face_crops`` with ``model`` already built; (features, seconds)."""
    with mock.patch.object(nodes, "build_vgg16", return_value=(model, info)):
        start = time.perf_counter()
        table = nodes.embed_face_crops(loaders, boxes, params)
        seconds = time.perf_counter() - start
    return table[nodes.EMBEDDING_COLUMNS].to_numpy(np.float32), seconds


def cosine_min(a: np.ndarray, b: np.ndarray) -> float:
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(((a * b).sum(1) / norms).min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--weights", default="hed", help="hed | imagenet | none | path")
    parser.add_argument("--json", action="store_true", help="a JSON summary last")
    args = parser.parse_args()
    weights = None if args.weights == "none" else args.weights
    project = yaml.safe_load(PARAMETERS.read_text())["casme2"]["feature_extraction"]
    params = {
        **project,
        "vgg16_weights": weights,
        "batch_size": args.batch_size,
        "labelled_only": True,
        "augmentation": {**project["augmentation"], "variants": 0},
        "progress_every_s": 3600,
    }
    clips, source = benchmark_crops(args.images)
    loaders, boxes = node_inputs(clips)
    facts = cpu_facts()
    print(
        f"CPU: {facts['cpu_model']}, {facts['cores']} cores, flags {facts['cpu_flags']}"
    )
    print(f"CPU bf16 units: {'yes' if cpu_supports_bf16() else 'no'}")
    print(
        f"{args.images} images from {source}; weights {weights}; batch {args.batch_size}"
    )

    images = np.concatenate(  # aug_id 0: the untouched model image the node makes
        [
            model_images(c.frames, "bench", 0, params["augmentation"], params["image"])
            for c in clips
        ]
    )
    model, _ = build_vgg16(weights, "float32", image_size=images.shape[1])
    model.predict(vgg_input(images[: args.batch_size]), verbose=0)  # warm-up
    start = time.perf_counter()
    baseline = np.asarray(
        model.predict(vgg_input(images), batch_size=args.batch_size, verbose=0),
        np.float32,
    )
    baseline_rate = len(images) / (time.perf_counter() - start)
    print(f"{'baseline float32 model.predict':<40} {baseline_rate:7.2f} images/s")

    precision = resolve_precision(project["precision"])
    execution = resolve_execution(project["execution"])
    candidates = {}
    node_result = None
    for cand_precision in ("float32", "bfloat16"):
        start = time.perf_counter()
        model, info = build_vgg16(weights, cand_precision, image_size=images.shape[1])
        build_seconds = time.perf_counter() - start
        for cand_execution in ("graph", "xla"):
            run_params = {
                **params,
                "precision": cand_precision,
                "execution": cand_execution,
            }
            warm = dict(
                list(loaders.items())[: max(1, args.batch_size // FRAMES_PER_CLIP)]
            )
            run_node(
                warm, boxes[boxes["partition"].isin(warm)], run_params, model, info
            )
            features, seconds = run_node(loaders, boxes, run_params, model, info)
            rate = len(features) / seconds
            name = f"{cand_precision}/{cand_execution}"
            candidates[name] = {
                "images_per_s": round(rate, 2),
                "ratio": round(rate / baseline_rate, 2),
                "cosine_min": round(cosine_min(features, baseline), 6),
            }
            chosen = (cand_precision, cand_execution) == (precision, execution)
            print(
                f"{'node path ' + name + (' (auto: chosen)' if chosen else ''):<40} "
                f"{rate:7.2f} images/s  ratio {rate / baseline_rate:5.2f}  "
                f"cosine>= {candidates[name]['cosine_min']:.6f}"
            )
            if chosen:
                node_result = {**candidates[name], "build_s": round(build_seconds, 2)}
    print(
        f"model build (weights {weights}, {precision}): {node_result['build_s']} s, "
        "once per node run"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "baseline_images_per_s": round(baseline_rate, 2),
                    "node_images_per_s": node_result["images_per_s"],
                    "ratio": node_result["ratio"],
                    "cosine_min": node_result["cosine_min"],
                    "precision": precision,
                    "execution": execution,
                    "cpu_bf16": cpu_supports_bf16(),
                    "model_build_s": node_result["build_s"],
                    "images": len(images),
                    "batch_size": args.batch_size,
                    "weights": str(weights),
                    **facts,
                    "candidates": candidates,
                }
            )
        )


if __name__ == "__main__":
    main()
