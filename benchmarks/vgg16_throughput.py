"""VGG-16 embedding throughput: the embedding node's path vs plain float32 predict.

Run on demand (not part of the test suite):

    python benchmarks/vgg16_throughput.py [--images 96] [--batch-size 32] [--weights hed]

Both are measured in the same run, on the same preprocessed model images
(face crops of data/03_primary/casme2/face_crops when present, otherwise
textured noise):

- baseline: ``keras.applications.VGG16`` built under float32, batched
  ``model.predict`` — the plain way;
- node: what ``embed_face_crops`` does with the project's parameters
  (``precision: auto``, ``jit_compile: true``);
- bf16: the same with ``precision: bfloat16`` forced (emulated, hence slow,
  on CPUs without bf16 units).

Prints images/s, the ratio node/baseline, the cosine similarity of the node's
embeddings to float32 ones, and the fraction of the CPU's float32 peak
(VGG-16 at 224x224 is about 15.5 GFLOP per image; the peak assumes 2 FMA
units x 8 float32 lanes per core, i.e. AVX2/AVX-512-256 CPUs).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from me_emotion.datasets.clip_frames import ClipFramesDataset  # noqa: E402
from me_emotion.pipelines.feature_extraction.augmentation import model_images  # noqa: E402
from me_emotion.pipelines.feature_extraction.vgg16 import (  # noqa: E402
    build_vgg16,
    cpu_supports_bf16,
    embed,
)

GFLOP_PER_IMAGE = 15.5
IMAGE = {"size": 224, "border_px": 3}
AUGMENTATION = {
    "seed": 0,
    "flip_probability": 0.5,
    "max_rotation_deg": 10.0,
    "scale_range": [0.9, 1.1],
}


def benchmark_images(count: int) -> tuple[np.ndarray, str]:
    crops_dir = Path("data/03_primary/casme2/face_crops")
    files = sorted(crops_dir.rglob("*.npz"))
    images: list[np.ndarray] = []
    for path in files:
        clip = ClipFramesDataset(str(path)).load()
        images.extend(
            model_images(np.array(clip.frames), path.stem, 0, AUGMENTATION, IMAGE)
        )
        if len(images) >= count:
            return np.stack(images[:count]), f"{crops_dir} face crops"
    rng = np.random.default_rng(0)
    return rng.integers(
        0, 256, size=(count, 224, 224), dtype=np.uint8
    ), "random textures"


def timed(function, *args) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def cpu_peak_gflops() -> tuple[float, int, float]:
    mhz = [
        float(line.split(":")[1])
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("cpu MHz")
    ]
    cores = len(os.sched_getaffinity(0))
    ghz = (max(mhz) if mhz else 2000.0) / 1000
    return cores * ghz * 32, cores, ghz  # 2 FMA x 8 lanes x 2 FLOP per cycle


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(
        ((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--weights", default="hed", help="hed | imagenet | none | path")
    args = parser.parse_args()
    weights = None if args.weights == "none" else args.weights
    images, source = benchmark_images(args.images)
    print(
        f"{len(images)} model images from {source}; weights {weights}; batch {args.batch_size}"
    )
    print(f"CPU bf16 units: {'yes' if cpu_supports_bf16() else 'no'}")

    rows = {}
    for name, precision, jit in [
        ("baseline float32 predict", "float32", False),
        ("node (precision auto, jit_compile)", "auto", True),
        ("bfloat16 forced, jit_compile", "bfloat16", True),
    ]:
        model, info = build_vgg16(weights, precision, image_size=224)
        embed(model, images[: args.batch_size], args.batch_size, jit)  # warm-up/compile
        features, seconds = timed(embed, model, images, args.batch_size, jit)
        rows[name] = (features, len(images) / seconds, info["precision"])

    base_features, base_rate, _ = rows["baseline float32 predict"]
    peak, cores, ghz = cpu_peak_gflops()
    print(
        f"float32 peak: {peak:.0f} GFLOP/s ({cores} cores x {ghz:.2f} GHz x 32 FLOP/cycle)"
    )
    for name, (features, rate, precision) in rows.items():
        print(
            f"{name:<38} {precision:<9} {rate:6.2f} images/s  ratio {rate / base_rate:4.2f}  "
            f"cosine>= {cosine(features, base_features):.5f}  "
            f"{rate * GFLOP_PER_IMAGE:6.1f} GFLOP/s = {rate * GFLOP_PER_IMAGE / peak:5.1%} of float32 peak"
        )


if __name__ == "__main__":
    main()
