"""Share of synthetic frames in which OpenCV's Haar frontal-face cascade finds a face.

Run on demand after `kedro run --pipelines=synthetic`:

    python benchmarks/synthetic_face_rate.py [data/01_raw/synthetic] [--every N]

Detection uses the same cascade and settings as the tests
(scaleFactor=1.1, minNeighbors=5, minSize=80x80) on every N-th frame (default 1).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2


def has_face(path: Path) -> bool:
    cascade = cv2.CascadeClassifier(
        cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    )
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    faces = cascade.detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(80, 80)
    )
    return len(faces) > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="data/01_raw/synthetic")
    parser.add_argument("--every", type=int, default=1)
    args = parser.parse_args()
    for layout in ("casme2", "samm"):
        frames = sorted((Path(args.root) / layout / "frames").rglob("*.jpg"))[
            :: args.every
        ]
        if not frames:
            print(f"{layout}: no frames under {args.root}; run the synthetic pipeline")
            continue
        start = time.perf_counter()
        with ThreadPoolExecutor() as pool:
            found = sum(pool.map(has_face, frames))
        print(
            f"{layout}: face found in {found}/{len(frames)} frames "
            f"({found / len(frames):.1%}) in {time.perf_counter() - start:.0f} s"
        )


if __name__ == "__main__":
    main()
