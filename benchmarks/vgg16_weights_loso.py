"""Do pretrained VGG-16 weights beat random ones? A quick LOSO probe.

Run on demand after `kedro run --pipelines=casme2` (needs its face crops):

    python benchmarks/vgg16_weights_loso.py [--namespace casme2] [--weights hed none]

For each weights choice: VGG-16 embeddings of every labelled clip's apex crop
and of its earliest sampled crop (untouched model images); two probes, on the
apex embedding alone and on the change apex - earliest (the micro-movement in
feature space), each a standardised logistic regression evaluated
leave-one-subject-out (scaler and classifier fitted on the training subjects
only), predictions pooled. Prints UF1 (macro F1) and UAR (macro recall) beside
the chance level. A probe of the features, not one of the project's models.
On the synthetic data the figures are synthetic results.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score, recall_score  # noqa: E402
from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from me_emotion.core.augmentation import (  # noqa: E402
    to_model_image,
)
from me_emotion.core.vgg16 import build_vgg16, embed  # noqa: E402
from me_emotion.datasets.clip_frames import ClipFramesDataset  # noqa: E402


def apex_and_first_images(
    namespace: str,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    boxes = pd.read_parquet(f"data/03_primary/{namespace}/face_boxes.parquet")
    clips = (
        boxes[boxes["label"].notna()].sort_values("partition").reset_index(drop=True)
    )
    crops = Path(f"data/03_primary/{namespace}/face_crops")
    apexes, firsts = [], []
    for partition in clips["partition"]:
        clip = ClipFramesDataset(str(crops / f"{partition}.npz")).load()
        apexes.append(to_model_image(np.array(clip.apex_frame)))
        firsts.append(to_model_image(np.array(clip.frames[0])))
    return np.stack(apexes), np.stack(firsts), clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", default="casme2")
    parser.add_argument("--weights", nargs="+", default=["hed", "none"])
    args = parser.parse_args()
    apexes, firsts, clips = apex_and_first_images(args.namespace)
    labels, subjects = clips["label"].to_numpy(), clips["subject"].to_numpy()
    classes = sorted(set(labels))
    print(
        f"{args.namespace}: {len(clips)} labelled clips, {len(set(subjects))} subjects, "
        f"{len(classes)} classes; chance UF1/UAR about {1 / len(classes):.2f} (uniform guess)"
    )
    for weights in args.weights:
        model, info = build_vgg16(None if weights == "none" else weights, "auto")
        start = time.perf_counter()
        apex = embed(model, apexes, 32)
        first = embed(model, firsts, 32)
        seconds = time.perf_counter() - start
        for probe_name, features in [("apex", apex), ("apex - earliest", apex - first)]:
            probe = make_pipeline(
                StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)
            )
            predicted = cross_val_predict(
                probe, features, labels, groups=subjects, cv=LeaveOneGroupOut()
            )
            uf1 = f1_score(
                labels, predicted, labels=classes, average="macro", zero_division=0
            )
            uar = recall_score(
                labels, predicted, labels=classes, average="macro", zero_division=0
            )
            print(
                f"  weights {info['weights']:<42} {probe_name:<16} LOSO UF1 {uf1:.3f}  "
                f"UAR {uar:.3f}  ({2 * len(apexes)} embeddings in {seconds:.0f} s, "
                f"{info['precision']})"
            )


if __name__ == "__main__":
    main()
