"""Nodes of the synthetic pipeline: plan a release, render its frames, write its sheet.

The plan (``synthetic_<dataset>.clip_plan``) is the ground truth of what was
rendered: subject looks, emotion, AUs, true onset/apex/offset, amplitude, blinks.
The coding spreadsheet is written from it in the release's own layout, with the
annotation quirks of the real releases applied to some rows.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

import numpy as np
import pandas as pd

from me_emotion.datasets.packaged_faces import PHOTO_CREDITS
from me_emotion.prefetch import prefetched, worker_count
from me_emotion.progress import ProgressLog

from . import layouts
from .expressions import OBJECTIVE_CLASS, RECIPES
from .render import ClipRenderer, Subject, SubjectLook, clip_renderer, compose_subject

logger = logging.getLogger(__name__)

_LOOK_FIELDS = list(SubjectLook.__dataclass_fields__)


def _release_seed(shared: dict[str, Any], release: dict[str, Any]) -> list[int]:
    return [int(shared["seed"]), zlib.crc32(release["layout"].encode())]


def _size(shared: dict[str, Any]) -> dict[str, Any]:
    name = shared["size"]
    if name not in shared["sizes"]:
        raise ValueError(
            f"synthetic.size '{name}' is not one of {sorted(shared['sizes'])} "
            "(parameters_synthetic.yml)"
        )
    return shared["sizes"][name]


def _emotion_counts(
    weights: dict[str, float], total: int, minimum: int = 0
) -> list[str]:
    """``total`` emotions in proportion to ``weights`` (largest remainder), each at
    least ``minimum`` times (clips taken from the most frequent emotions)."""
    names = sorted(weights)
    if minimum * len(names) > total:
        raise ValueError(
            f"min_clips_per_emotion {minimum} x {len(names)} emotions needs at least "
            f"{minimum * len(names)} clips, but the size has {total}; raise subjects or "
            "clips_per_subject (conf/base/parameters_synthetic.yml)"
        )
    shares = np.array([weights[n] for n in names], dtype=float)
    shares = shares / shares.sum() * total
    counts = np.floor(shares).astype(int)
    for i in np.argsort(-(shares - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    for i in range(len(names)):
        while counts[i] < minimum:
            counts[i] += 1
            counts[int(np.argmax(counts - (np.arange(len(names)) == i) * total))] -= 1
    return [name for name, count in zip(names, counts) for _ in range(count)]


def _deal_over_subjects(
    emotions: list[str], n_subjects: int, rng: np.random.Generator
) -> list[str]:
    """Emotions in subject-major order, each emotion's clips dealt round-robin over
    the subjects (so an emotion with two clips is in two subjects)."""
    per_subject = [emotions[s::n_subjects] for s in range(n_subjects)]
    for clips in per_subject:
        rng.shuffle(clips)
    return [emotion for clips in per_subject for emotion in clips]


PHOTO_REUSE = ("error", "mirror")


def subject_photos(
    n_subjects: int, photos: list[str], reuse: str
) -> list[tuple[str, bool]]:
    """``(photo, mirrored)`` of each subject: one photograph (one person) each.

    With more subjects than photographs, ``reuse="mirror"`` deals the
    photographs again, mirrored on every second pass (several subjects are then
    one person, so leaving a subject out does not leave a person out);
    ``reuse="error"`` refuses.
    """
    if reuse not in PHOTO_REUSE:
        raise ValueError(
            f"synthetic.sizes.<size>.photo_reuse '{reuse}' is not one of {PHOTO_REUSE} "
            "(parameters_synthetic.yml)"
        )
    if not photos or len(set(photos)) != len(photos):
        raise ValueError(
            f"synthetic.photos must name distinct photographs, got {photos} "
            "(parameters_synthetic.yml)"
        )
    if n_subjects > len(photos) and reuse == "error":
        raise ValueError(
            f"{n_subjects} subjects but {len(photos)} face photographs "
            f"{photos}: one person per subject needs at least {n_subjects}; add "
            "photographs to synthetic.photos, lower the size's subjects, or set "
            "synthetic.sizes.<size>.photo_reuse: mirror (parameters_synthetic.yml)"
        )
    return [
        (photos[i % len(photos)], bool((i // len(photos)) % 2))
        for i in range(n_subjects)
    ]


def _subject_look(
    photo: tuple[str, bool],
    shared: dict[str, Any],
    release: dict[str, Any],
    rng: np.random.Generator,
) -> dict[str, Any]:
    look = shared["look"]
    jitter_x, jitter_y = look["center_jitter"]
    return {
        "photo": photo[0],
        "mirror": photo[1],
        "face_width_px": float(rng.uniform(*release["face_width_px"])),
        "center_x": 0.5 + float(rng.uniform(-jitter_x, jitter_x)),
        "center_y": release["face_center_y"] + float(rng.uniform(-jitter_y, jitter_y)),
        "rotation_deg": float(rng.uniform(-look["rotation_deg"], look["rotation_deg"])),
        "aspect": 1.0 + float(rng.uniform(-look["aspect"], look["aspect"])),
        "gamma": float(rng.uniform(*look["gamma"])),
        "contrast": float(rng.uniform(*look["contrast"])),
        "brightness": float(rng.uniform(-look["brightness"], look["brightness"])),
        **{
            f"tint_{c}": 1.0 + float(rng.uniform(-look["tint"], look["tint"]))
            for c in "bgr"
        },
    }


def plan_release(shared: dict[str, Any], release: dict[str, Any]) -> pd.DataFrame:
    """Decide every subject, clip, emotion and timing of a synthetic release.

    Args:
        shared: ``params:synthetic`` (seed, size, motion, look, nuisance).
        release: ``params:<namespace>.release`` (layout, frame size, emotions,
            quirks).

    Returns:
        One row per clip; ``apex_cell``/``au_cell``/``emotion_cell`` are what the
        spreadsheet says, ``apex``/``action_units``/``emotion`` what was rendered.
    """
    layout = release["layout"]
    layouts.check_layout(layout)
    size = _size(shared)
    rng = np.random.default_rng(_release_seed(shared, release))
    n_subjects, per_subject = int(size["subjects"]), int(size["clips_per_subject"])
    minimum = int(size["min_clips_per_emotion"])
    emotions = _emotion_counts(release["emotions"], n_subjects * per_subject, minimum)
    if minimum:  # every emotion in at least `minimum` subjects
        emotions = _deal_over_subjects(emotions, n_subjects, rng)
    else:
        rng.shuffle(emotions)
    motion, nuisance = shared["motion"], shared["nuisance"]
    photos = subject_photos(n_subjects, shared["photos"], size["photo_reuse"])
    people = len({photo for photo, _ in photos})
    if people < n_subjects:
        logger.warning(
            "synthetic %s: %d subjects drawn from %d face photographs (re-used, "
            "mirrored): leaving a subject out does not leave a person out",
            layout,
            n_subjects,
            people,
        )

    rows = []
    for s in range(n_subjects):
        subject = layouts.subject_id(layout, s)
        folder = layouts.subject_dir(layout, subject)
        look = _subject_look(photos[s], shared, release, rng)
        subject_amplitude = float(rng.lognormal(0.0, motion["subject_amplitude_sd"]))
        for c, clip in enumerate(layouts.clip_names(layout, subject, per_subject, rng)):
            emotion = emotions[s * per_subject + c]
            recipes = RECIPES[emotion.lower()]
            aus = recipes[rng.integers(len(recipes))]
            length = int(
                rng.integers(size["clip_frames"][0], size["clip_frames"][1] + 1)
            )
            first = int(rng.integers(*release["first_frame"]))
            onset = first + int(
                rng.integers(*shared["folder_padding_frames"], endpoint=True)
            )
            offset = onset + length - 1
            last = offset + int(
                rng.integers(*shared["folder_padding_frames"], endpoint=True)
            )
            apex = onset + int(round(length * rng.uniform(*shared["apex_position"])))
            blinks = rng.random() < nuisance["blink_probability"]
            rows.append(
                {
                    "subject_index": s,
                    "subject_id": subject,
                    "subject_dir": folder,
                    "clip_index": c,
                    "clip": clip,
                    **look,
                    "subject_amplitude": subject_amplitude,
                    "emotion": emotion.lower(),
                    "emotion_cell": layouts.emotion_as_written(layout, emotion),
                    "objective_class": OBJECTIVE_CLASS[emotion.lower()],
                    "action_units": aus,
                    "au_cell": aus,
                    "amplitude_px": motion["amplitude_px"]
                    * subject_amplitude
                    * float(rng.uniform(*motion["clip_intensity"])),
                    "first_frame": first,
                    "last_frame": last,
                    "onset": onset,
                    "apex": apex,
                    "offset": offset,
                    "apex_cell": str(apex),
                    "frame_digits": 4
                    if rng.random() < release["four_digit_frames"]
                    else 5,
                    "blink_frame": float(rng.uniform(first, last))
                    if blinks
                    else np.nan,
                    "blink_duration": float(rng.integers(*nuisance["blink_frames"])),
                    "quirk": "",
                }
            )
    plan = pd.DataFrame(rows)
    _apply_quirks(plan, release.get("quirks", {}), rng)
    return plan


def _apply_quirks(
    plan: pd.DataFrame, quirks: dict[str, int], rng: np.random.Generator
) -> None:
    """Reproduce the real releases' annotation quirks on a few rows of the sheet."""
    order = list(rng.permutation(len(plan)))

    def take(count: int) -> list[int]:
        return [order.pop() for _ in range(min(count, len(order)))]

    for i in take(quirks.get("non_numeric_apex", 0)):
        plan.loc[i, ["apex_cell", "quirk"]] = ["/", "non-numeric apex"]
    for n, i in enumerate(take(quirks.get("apex_out_of_range", 0))):
        wrong = plan.loc[i, "offset"] + 3 if n % 2 == 0 else plan.loc[i, "onset"] - 2
        plan.loc[i, ["apex_cell", "quirk"]] = [str(wrong), "apex outside onset..offset"]
    others = [i for i in order if plan.loc[i, "emotion"] in {"other", "others"}]
    for i in others[: quirks.get("others_spelling", 0)]:
        order.remove(i)
        plan.loc[i, ["emotion_cell", "quirk"]] = ["Others", "label spelt Others"]
    for n, i in enumerate(take(quirks.get("au_or_unclear", 0))):
        codes = plan.loc[i, "au_cell"]
        quirky = f"{codes}?" if n % 2 == 0 else f"{codes}/43"
        plan.loc[i, ["au_cell", "quirk"]] = [quirky, "AU cell with ? or /"]


def _look(row: Any) -> SubjectLook:
    return SubjectLook(**{name: getattr(row, name) for name in _LOOK_FIELDS})


def _clip_nuisances(
    row: Any, nuisance: dict[str, Any], seed: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Head drift (2 sinusoids per axis) and illumination change of one clip."""
    rng = np.random.default_rng([*seed, int(row.subject_index), int(row.clip_index), 1])
    span = float(row.last_frame - row.first_frame + 1)
    drift = np.stack(
        [
            np.column_stack(
                [
                    nuisance["drift_px"] * rng.uniform(0.2, 0.6, 2),
                    span * rng.uniform(0.7, 2.5, 2),
                    rng.uniform(0, 2 * np.pi, 2),
                ]
            )
            for _ in range(2)
        ]
    )
    illumination = np.array(
        [
            nuisance["illumination"] * rng.uniform(0.3, 1.0),
            span * rng.uniform(1.0, 3.0),
            rng.uniform(0, 2 * np.pi),
            nuisance["illumination_gradient"] * rng.uniform(-1.0, 1.0),
        ]
    )
    return drift, illumination


class _ReleaseRenderer:
    """Builds each subject's still and each clip's fields once, on first use."""

    def __init__(
        self,
        photos: dict[str, np.ndarray],
        plan: pd.DataFrame,
        shared: dict[str, Any],
        release: dict[str, Any],
    ):
        self._photos = photos
        self._rows = {
            (r.subject_index, r.clip_index): r for r in plan.itertuples(index=False)
        }
        self._shared = shared
        self._release = release
        self._seed = _release_seed(shared, release)
        self._lock = threading.Lock()
        self._clips: dict[tuple[int, int], ClipRenderer] = {}
        # frames are rendered in file order, a few ahead per thread: the clips
        # in flight at once are few
        self._clips_kept = 2 + worker_count(shared["workers"])
        self._progress = ProgressLog(
            f"synthetic {release['layout']} render_frames",
            len(self._rows),
            10.0,
            logger,
        )

    @lru_cache(maxsize=2)  # noqa: B019 - one renderer per node call
    def _subject(self, subject_index: int) -> Subject:
        row = next(r for k, r in self._rows.items() if k[0] == subject_index)
        if row.photo not in self._photos:
            raise ValueError(
                f"photo '{row.photo}' is not among the loaded face photographs "
                f"{sorted(self._photos)}"
            )
        return compose_subject(
            self._photos[row.photo], _look(row), tuple(self._release["frame_size"])
        )

    def _clip(self, subject_index: int, clip_index: int) -> ClipRenderer:
        """The clip's renderer, built once even when several threads ask for it."""
        key = (subject_index, clip_index)
        with self._lock:
            if key not in self._clips:
                if len(self._clips) >= self._clips_kept:
                    self._clips.pop(next(iter(self._clips)))  # the oldest
                self._clips[key] = self._build_clip(subject_index, clip_index)
            return self._clips[key]

    def _build_clip(self, subject_index: int, clip_index: int) -> ClipRenderer:
        row = self._rows[(subject_index, clip_index)]
        nuisance, motion = self._shared["nuisance"], self._shared["motion"]
        drift, illumination = _clip_nuisances(row, nuisance, self._seed)
        self._progress.step()  # counts clips as they start rendering
        return clip_renderer(
            subject=self._subject(subject_index),
            aus=row.action_units,
            amplitude_px=row.amplitude_px,
            sigma_face=motion["sigma_face"],
            blink_px=nuisance["blink_px"],
            onset=row.onset,
            apex=row.apex,
            offset=row.offset,
            blink_frame=None if np.isnan(row.blink_frame) else row.blink_frame,
            blink_duration=row.blink_duration,
            drift=drift,
            illumination=illumination,
            noise_sd=nuisance["noise_sd"],
            color=bool(self._release["color"]),
            seed=(*self._seed, int(subject_index), int(clip_index)),
        )

    def frame(self, subject_index: int, clip_index: int, number: int) -> np.ndarray:
        return self._clip(subject_index, clip_index).frame(number)


def render_frames(
    face_photos: dict[str, np.ndarray],
    clip_plan: pd.DataFrame,
    shared: dict[str, Any],
    release: dict[str, Any],
) -> dict[str, Callable[[], np.ndarray]]:
    """Every frame of the release, as lazily rendered partitions.

    Keys are ``<subject>/<clip>/<frame file stem>``; the catalog's
    ``PartitionedDataset`` calls each value when saving, and ``prefetched``
    renders the next few on ``shared["workers"]`` threads meanwhile (OpenCV
    and numpy release the GIL), so only a few frames are in memory at once.
    """
    layout = release["layout"]
    renderer = _ReleaseRenderer(face_photos, clip_plan, shared, release)
    frames: dict[str, Callable[[], np.ndarray]] = {}
    for row in clip_plan.itertuples(index=False):
        for number in range(int(row.first_frame), int(row.last_frame) + 1):
            stem = layouts.frame_file(
                layout, row.subject_dir, number, int(row.frame_digits)
            )
            frames[f"{row.subject_dir}/{row.clip}/{stem}"] = partial(
                renderer.frame, row.subject_index, row.clip_index, number
            )
    workers = worker_count(shared["workers"])
    logger.info(
        "synthetic %s: %d clips, %d frames to render on %d threads",
        layout,
        len(clip_plan),
        len(frames),
        workers,
    )
    return prefetched(frames, workers)


def write_coding_sheet(
    clip_plan: pd.DataFrame, release: dict[str, Any]
) -> pd.DataFrame:
    """The release's coding spreadsheet (a cell grid in the real layout)."""
    return layouts.coding_grid(release["layout"], clip_plan)


def subject_photo_table(clip_plan: pd.DataFrame) -> pd.DataFrame:
    """Which photograph (person) each subject is, and whether it is mirrored."""
    table = (
        clip_plan[["subject_id", "subject_dir", "photo", "mirror"]]
        .drop_duplicates()
        .sort_values("subject_id")
        .reset_index(drop=True)
    )
    mixed = table["subject_id"].duplicated(keep=False)
    if mixed.any():
        raise ValueError(
            "a subject must be one photograph throughout its clips; subjects "
            f"{sorted(table.loc[mixed, 'subject_dir'].unique())} are not"
        )
    table["subject_id"] = table["subject_id"].astype(int)
    table["mirror"] = table["mirror"].astype(bool)
    return table.rename(columns={"subject_dir": "subject"})


def describe_release(
    clip_plan: pd.DataFrame, shared: dict[str, Any], release: dict[str, Any]
) -> dict[str, Any]:
    """The ``SYNTHETIC_DATA.json`` manifest that marks a release as synthetic."""
    return {
        "synthetic": True,
        "description": (
            "Synthetic demo data generated by me_emotion: real face photographs "
            "animated with rendered action-unit-like micro-movements. Not CASME-II "
            "or SAMM; results on it say nothing about real micro-expressions."
        ),
        "layout": release["layout"],
        "seed": int(shared["seed"]),
        "size": shared["size"],
        "subjects": int(clip_plan["subject_id"].nunique()),
        "clips": len(clip_plan),
        "frames": int((clip_plan["last_frame"] - clip_plan["first_frame"] + 1).sum()),
        "emotions": {
            k: int(v)
            for k, v in clip_plan["emotion"].value_counts().sort_index().items()
        },
        "photographs": {
            name: PHOTO_CREDITS[name] for name in sorted(clip_plan["photo"].unique())
        },
        "people": int(clip_plan["photo"].nunique()),
        "one_person_per_subject": bool(
            clip_plan["photo"].nunique() == clip_plan["subject_id"].nunique()
        ),
        "subject_photos": subject_photo_table(clip_plan).to_dict("records"),
        "quirk_rows": clip_plan.loc[
            clip_plan["quirk"] != "", ["clip", "quirk"]
        ].to_dict("records"),
    }
