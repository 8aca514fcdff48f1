"""What the VGG-16 embeddings carry: subject identity or the expression?

Run on demand after `kedro run --pipelines=synthetic_releases`:

    python benchmarks/feature_probe.py [--root data/01_raw/synthetic] [--layout casme2]

For every clip of a synthetic release it reads the onset and the true apex
frame (as written to disk), crops the face as the face stage does (Haar box
of the onset frame, +10% margin, 256 px, CLAHE), makes the 224 px model image
and embeds both frames with the project's VGG-16 (``vgg16_weights`` of
conf/base/globals.yml, float32). Then linear probes (standardised features,
scikit-learn ``LogisticRegression``) read:

- expression across subjects: the clip's label in the dataset's configured
  class set (``data_ingestion.class_set``; clips outside it are left out),
  leave-one-subject-out (``LeaveOneGroupOut``), UF1 and UAR;
- identity within subjects: which subject the clip is, stratified 4-fold over
  each subject's clips, accuracy;

each from the apex embedding and from apex minus onset, and, for scale, from
the 48 px model images' pixels (apex, apex minus onset). Chance: UAR 1/classes,
identity 1/subjects. It also reports the expression's size in pixels: the
largest displacement of the rendered field at apex (frame px, from the clip
plan), scaled to the 48, 96 and 224 px images the models see.
SYNTHETIC data: the figures describe the demo data, not real faces.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from kedro.config import OmegaConfigLoader
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.model_selection import (
    LeaveOneGroupOut,
    StratifiedKFold,
    cross_val_predict,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from me_emotion.core.augmentation import to_model_image
from me_emotion.core.clahe import apply_clahe
from me_emotion.core.crop import crop_and_resize, square_crop_box
from me_emotion.core.vgg16 import build_vgg16, load_vgg16_weights, vgg_input
from me_emotion.datasets.packaged_faces import PHOTOGRAPHS
from me_emotion.pipelines.synthetic import layouts
from me_emotion.pipelines.synthetic.expressions import au_points
from me_emotion.pipelines.synthetic.render import (
    SubjectLook,
    compose_subject,
    displacement_field,
    landmark_motions,
)

IMAGE_SIZES = (48, 96, 224)
MARGIN = 0.1  # parameters_face_detection.yml
CROP_SIZE = 256
CASCADE = cv2.CascadeClassifier(
    cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
)


def face_crop_box(gray: np.ndarray) -> tuple[int, int, int, int]:
    boxes = CASCADE.detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(100, 100)
    )
    if len(boxes) == 0:
        raise ValueError("no face in the onset frame")
    box = max(boxes, key=lambda b: b[2] * b[3])
    return square_crop_box(tuple(int(v) for v in box), *gray.shape, MARGIN)


def frame_path(root: Path, layout: str, row, number: int) -> Path:
    stem = layouts.frame_file(layout, row.subject_dir, number, int(row.frame_digits))
    return root / layout / "frames" / row.subject_dir / row.clip / f"{stem}.jpg"


def read_clip(root: Path, layout: str, row) -> tuple[np.ndarray, int]:
    """Model images (onset, apex) ``(2, 224, 224)`` and the crop's side in px."""
    frames = []
    for number in (row.onset, row.apex):
        path = frame_path(root, layout, row, int(number))
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if gray is None:
            raise FileNotFoundError(f"{path}: run the synthetic pipeline first")
        frames.append(gray)
    box = face_crop_box(frames[0])
    crops = apply_clahe(crop_and_resize(np.stack(frames), box, CROP_SIZE), 2.0, (8, 8))
    return np.stack([to_model_image(c, 224, 3) for c in crops]), box[2]


def apex_displacement_px(row, photos: dict, frame_size: tuple[int, int]) -> float:
    """Largest displacement of the clip's rendered field at apex, frame px."""
    look = SubjectLook(**{f: getattr(row, f) for f in SubjectLook.__dataclass_fields__})
    subject = compose_subject(photos[row.photo], look, frame_size)
    points = landmark_motions(subject, au_points(row.action_units), row.amplitude_px)
    field = displacement_field(
        points, 0.06 * subject.face_width_px, subject.canvas.shape[:2]
    )
    return float(np.sqrt((field**2).sum(axis=-1)).max())


def probe(features: np.ndarray, target: np.ndarray, cv, groups=None) -> np.ndarray:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    return cross_val_predict(model, features, target, cv=cv, groups=groups)


def report_sizes(displacement: np.ndarray, crop_side: np.ndarray) -> None:
    """The apex displacement in the frame and in each model image size."""
    print("\nExpression size at apex, largest displacement (median [min, max]):")
    scaled = {"frame": displacement}
    for size in IMAGE_SIZES:  # the crop fills the image inside its border
        scaled[f"{size} px image"] = displacement * (size - 6 * size / 224) / crop_side
    for name, values in scaled.items():
        print(
            f"  {name:>14}: {np.median(values):.2f} px "
            f"[{values.min():.2f}, {values.max():.2f}]"
        )
    print(f"  (face crop side in the frame: median {np.median(crop_side):.0f} px)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="data/01_raw/synthetic")
    parser.add_argument("--layout", default="casme2", choices=layouts.LAYOUTS)
    args = parser.parse_args()
    root = Path(args.root)
    plan = pd.read_parquet(root / args.layout / "clip_plan_SYNTHETIC.parquet")
    config = OmegaConfigLoader("conf", base_env="base", default_run_env="base")
    release = config["parameters"][f"synthetic_{args.layout}"]["release"]
    weights_spec = config["globals"]["vgg16_weights"]
    ingestion = config["parameters"][args.layout]["data_ingestion"]
    class_map = ingestion["class_sets"][ingestion["class_set"]]
    labels = plan["emotion"].str.lower().map(class_map)
    left_out = int(labels.isna().sum())
    plan = plan[labels.notna()].reset_index(drop=True)
    labels = labels.dropna().to_numpy()

    start = time.perf_counter()
    images, sides = [], []
    for row in plan.itertuples(index=False):
        pair, side = read_clip(root, args.layout, row)
        images.append(pair)
        sides.append(side)
    images = np.stack(images)  # (clips, 2, 224, 224)
    model, info = build_vgg16(load_vgg16_weights(weights_spec), "float32")
    flat = vgg_input(images.reshape(-1, 224, 224))
    embeddings = model.predict(flat, batch_size=16, verbose=0).reshape(len(plan), 2, -1)
    onset, apex = embeddings[:, 0], embeddings[:, 1]
    embed_s = time.perf_counter() - start

    photos = {name: PHOTOGRAPHS[name]() for name in plan["photo"].unique()}
    frame_size = tuple(release["frame_size"])
    displacement = np.array(
        [apex_displacement_px(r, photos, frame_size) for r in plan.itertuples()]
    )

    emotion = labels
    pixels = (
        np.stack(
            [
                cv2.resize(image, (48, 48), interpolation=cv2.INTER_AREA)
                for image in images.reshape(-1, 224, 224)
            ]
        )
        .reshape(len(plan), 2, -1)
        .astype(np.float32)
    )
    subject = plan["subject_id"].to_numpy()
    per_subject = plan.groupby("subject_id").size().min()
    if per_subject < 2:
        raise ValueError(
            "the identity probe needs at least 2 labelled clips per subject; "
            f"a subject has {per_subject} (use a larger synthetic.size)"
        )
    identity_cv = StratifiedKFold(
        min(4, int(per_subject)), shuffle=True, random_state=0
    )
    n_classes, n_subjects = len(set(emotion)), len(set(subject))
    print(
        f"SYNTHETIC {args.layout} release ({root}): {len(plan)} clips, "
        f"{n_subjects} subjects, {plan['photo'].nunique()} people (photographs), "
        f"{n_classes} classes ({ingestion['class_set']}; {left_out} clips outside "
        f"it left out); VGG-16 weights {info['weights']}, "
        f"{info['precision']}; read + embed {embed_s:.0f} s"
    )
    print(
        "| features | expression LOSO UF1 | expression LOSO UAR | identity within-subject 4-fold accuracy |"
    )
    print("|---|---|---|---|")
    rows = (
        ("VGG-16 apex", apex),
        ("VGG-16 apex - onset", apex - onset),
        ("48 px pixels, apex", pixels[:, 1]),
        ("48 px pixels, apex - onset", pixels[:, 1] - pixels[:, 0]),
    )
    for name, features in rows:
        said = probe(features, emotion, LeaveOneGroupOut(), subject)
        who = probe(features, subject, identity_cv)
        print(
            f"| {name} | {f1_score(emotion, said, average='macro'):.2f} | "
            f"{balanced_accuracy_score(emotion, said):.2f} | "
            f"{(who == subject).mean():.2f} |"
        )
    print(f"| chance | - | {1 / n_classes:.2f} | {1 / n_subjects:.2f} |")
    report_sizes(displacement, np.array(sides, dtype=float))


if __name__ == "__main__":
    main()
