"""Synthetic long videos with ground truth, for testing micro-expression spotting.

A video is one subject (a real face photograph placed and toned as in the
synthetic clips) on a timeline of events: micro-expressions (known emotion,
onset/apex/offset) among neutral stretches and distractors that a spotter must
not report: blinks, head turns, head drift, macro-expressions (longer and
larger), a lighting change and a stretch with the face out of frame.

Videos come in *splits* (``dev``: the seeds spotting may be tuned on;
``test``: other seeds, never used to choose anything) and *profiles*
(``standard``; ``realistic`` adds what real footage is full of: talking
stretches of speech-like mouth motion, continuous head sway, nodding and small
yaw turns, blinks that move the brows, exposure drift and smaller
micro-expressions). Every (split, seed, profile) renders the size's videos.

``plan_videos`` decides every event (the ground truth), ``render_videos`` hands
the catalog lazily rendered videos that are written frame by frame, and
``ground_truth_tables`` / ``describe_videos`` write the sidecar CSVs and the
``VIDEOS_SYNTHETIC.json`` manifest. Every frame is a pure function of the plan
and its number, so the same seed gives the same frames.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import pandas as pd

from me_emotion.datasets.packaged_faces import PHOTO_CREDITS
from me_emotion.datasets.video_files import GROUND_TRUTH_COLUMNS

from .expressions import BLINK_MOTIONS, RECIPES, au_points
from .render import (
    SubjectLook,
    bump,
    compose_subject,
    displacement_field,
    expression_profile,
    landmark_motions,
)

GENERATOR_VERSION = "2"  # 2: dev/test splits, realistic profile
DATA_SOURCE = "SYNTHETIC"  # the sidecars' data_source column
CONTAINERS = ("mp4", "avi")  # OpenCV mp4v, MJPG
EXPRESSIONS = ("micro", "macro")
# Micro-expressions last 1/25 s .. 0.5 s; longer expressions are macro.
MICRO_SECONDS = (1 / 25, 0.5)
DISTRACTORS = (
    "blink",
    "talking",
    "head_turn",
    "head_drift",
    "lighting_change",
    "face_out",
)
EVENT_KINDS = EXPRESSIONS + DISTRACTORS
# Composite (MEGC 2019) 3-class mapping of CASME-II emotions; others stay apart.
CLASS3 = {
    "happiness": "positive",
    "surprise": "surprise",
    "disgust": "negative",
    "repression": "negative",
    "fear": "negative",
    "sadness": "negative",
    "others": "others",
}
# Events that happen on the timeline one after another (the rest overlay it).
_SEQUENTIAL = (
    "micro",
    "macro",
    "blink",
    "talking",
    "head_turn",
    "lighting_change",
    "face_out",
)
SPLITS = ("dev", "test")
SPLIT_COLUMNS = [
    "split",
    "seed",
    "profile",
]  # ground-truth columns beyond the standard ones
PROFILES = ("standard", "realistic")
# continuous nuisances of a profile, drawn once per video (0 in ``standard``)
_SCENE_KEYS = (
    "sway_face",
    "sway_period_s",
    "nod_face",
    "nod_period_s",
    "yaw",
    "yaw_period_s",
    "exposure_drift",
    "exposure_period_s",
)
_NOISE_MARGIN = 32  # noise-bank frames are this much larger, for random windows
_NOISE_BANK_SIZE = 4


# ---------------------------------------------------------------- planning ----


def _video_seed(seed: int, stem: str) -> list[int]:
    return [int(seed), zlib.crc32(stem.encode())]


def _check_choice(value: Any, allowed: tuple[str, ...], key: str) -> None:
    if value not in allowed:
        raise ValueError(
            f"synthetic_videos.{key} {value!r} is not one of {list(allowed)} "
            "(conf/base/parameters_synthetic.yml)"
        )


def video_specs(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every video of ``params['size']``: its videos for each split seed and profile.

    Each spec has a unique ``stem``
    (``<split>_s<seed>_<profile>_<nn>_<fps>fps_<w>x<h>``), ``split``, ``seed``
    and ``profile``.
    """
    size = params["size"]
    if size not in params["sizes"]:
        raise ValueError(
            f"synthetic_videos.size '{size}' is not one of {sorted(params['sizes'])} "
            "(conf/base/parameters_synthetic.yml)"
        )
    _check_choice(params["container"], CONTAINERS, "container")
    chosen = params["sizes"][size]
    for split in chosen["splits"]:
        _check_choice(split, SPLITS, f"sizes.{size}.splits")
    for profile in chosen["profiles"]:
        _check_choice(profile, tuple(params["profiles"]), f"sizes.{size}.profiles")
    dev, test = (set(chosen["splits"].get(s) or []) for s in SPLITS)
    if dev & test:
        raise ValueError(
            f"synthetic_videos.sizes.{size}.splits: seeds {sorted(dev & test)} are in "
            "both dev and test; a test seed must never be tuned on"
        )
    specs = []
    for split, seeds in chosen["splits"].items():
        for seed in seeds or []:
            for profile in chosen["profiles"]:
                for number, spec in enumerate(chosen["videos"], start=1):
                    width, height = (int(v) for v in spec["frame_size"])
                    fps = float(spec["fps"])
                    unknown = set(spec["events"]) - set(EVENT_KINDS)
                    if unknown:
                        raise ValueError(
                            f"synthetic_videos.sizes.{size}.videos[{number - 1}].events "
                            f"has unknown kinds {sorted(unknown)}; use {list(EVENT_KINDS)}"
                        )
                    stem = (
                        f"{split}_s{int(seed)}_{profile}_{number:02d}_"
                        f"{fps:g}fps_{width}x{height}"
                    )
                    specs.append(
                        {
                            **spec,
                            "stem": stem,
                            "width": width,
                            "height": height,
                            "split": split,
                            "seed": int(seed),
                            "profile": profile,
                        }
                    )
    return specs


def _profile_events(params: dict[str, Any], profile: str) -> dict[str, Any]:
    """The event settings of ``profile``: ``events`` with its overrides merged in."""
    overrides = params["profiles"][profile].get("events") or {}
    return {
        kind: {**cfg, **overrides.get(kind, {})}
        for kind, cfg in params["events"].items()
    }


def _scene(
    params: dict[str, Any], profile: str, rng: np.random.Generator
) -> dict[str, float]:
    """Continuous nuisances of one video (sway, nod, yaw, exposure drift, brow blinks)."""
    settings = params["profiles"][profile].get("scene") or {}
    scene = {}
    for key in _SCENE_KEYS:
        low, high = settings.get(key, (0.0, 0.0) if "period" not in key else (1.0, 1.0))
        scene[key] = float(rng.uniform(low, high))
    for key in ("sway", "nod", "yaw", "exposure"):
        scene[f"{key}_phase"] = float(rng.uniform(0, 2 * math.pi))
    low, high = settings.get("blink_brow", (0.0, 0.0))
    scene["blink_brow"] = float(rng.uniform(low, high))
    return scene


def _look(
    spec: dict[str, Any], params: dict[str, Any], rng: np.random.Generator
) -> dict[str, Any]:
    look = params["look"]
    return {
        "photo": spec["photo"],
        "mirror": bool(spec.get("mirror", False)),
        "face_width_px": float(rng.uniform(*spec["face_width_px"])),
        "center_x": 0.5 + float(rng.uniform(-0.04, 0.04)),
        "center_y": float(spec.get("face_center_y", 0.45)),
        "rotation_deg": float(rng.uniform(-look["rotation_deg"], look["rotation_deg"])),
        "aspect": 1.0,
        "gamma": float(rng.uniform(*look["gamma"])),
        "contrast": float(rng.uniform(*look["contrast"])),
        "brightness": float(rng.uniform(-look["brightness"], look["brightness"])),
        **{
            f"tint_{c}": 1.0 + float(rng.uniform(-look["tint"], look["tint"]))
            for c in "bgr"
        },
    }


def _frames(seconds: float, fps: float) -> int:
    return max(int(round(seconds * fps)), 1)


def _draw_emotion(weights: dict[str, float], rng: np.random.Generator) -> str:
    names = sorted(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _event_details(  # noqa: PLR0911 - one branch per event kind
    kind: str, events: dict[str, Any], rng: np.random.Generator
) -> dict[str, Any]:
    """Kind-specific rendering details of one event (duration in seconds)."""
    cfg = events[kind]
    seconds = float(rng.uniform(*cfg["duration_s"]))
    if kind in EXPRESSIONS:
        emotion = _draw_emotion(cfg["emotions"], rng)
        recipes = RECIPES[emotion]
        return {
            "seconds": seconds,
            "emotion": emotion,
            "class3": CLASS3[emotion],
            "action_units": recipes[int(rng.integers(len(recipes)))],
            "amplitude": float(rng.uniform(*cfg["amplitude_face"])),
            "apex_position": float(rng.uniform(*cfg["apex_position"])),
        }
    if kind == "blink":
        return {"seconds": seconds, "amplitude": float(rng.uniform(*cfg["lid_face"]))}
    if kind == "talking":  # syllables: the mouth opens and closes a few times a second
        return {
            "seconds": seconds,
            "amplitude": float(rng.uniform(*cfg["amplitude_face"])),
            "syllable_hz": float(rng.uniform(*cfg["syllable_hz"])),
            "phase": float(rng.uniform(0, 2 * math.pi)),
        }
    if kind == "head_turn":
        direction = rng.choice([-1.0, 1.0])
        return {
            "seconds": seconds,
            "shift_x": float(direction * rng.uniform(*cfg["shift_face"])),
            "shift_y": float(rng.uniform(-cfg["vertical_face"], cfg["vertical_face"])),
            "roll_deg": float(rng.uniform(-cfg["roll_deg"], cfg["roll_deg"])),
            "yaw": float(rng.uniform(0.0, cfg["yaw"])),
        }
    if kind == "head_drift":
        return {
            "seconds": seconds,
            "shift_x": float(rng.uniform(*cfg["amplitude_face"])),
            "shift_y": float(rng.uniform(*cfg["amplitude_face"])),
            "period_s": float(rng.uniform(*cfg["period_s"])),
        }
    if kind == "lighting_change":
        return {
            "seconds": seconds,
            "light_change": float(
                rng.choice([-1.0, 1.0]) * rng.uniform(*cfg["change"])
            ),
            "light_gradient": float(rng.uniform(-cfg["gradient"], cfg["gradient"])),
        }
    # face_out: the scene pans until the face has left the frame, then back
    return {
        "seconds": seconds,
        "direction": int(rng.integers(4)),  # 0 left, 1 right, 2 up, 3 down
        "slide_s": float(cfg["slide_s"]),
    }


def _place_sequential(
    durations: list[int], total: int, min_gap: int, rng: np.random.Generator
) -> list[int]:
    """Onsets of events laid one after another with random neutral gaps."""
    free = total - sum(durations) - (len(durations) + 1) * min_gap
    if free < 0:
        raise ValueError(
            f"{len(durations)} events of {sum(durations)} frames do not fit in "
            f"{total} frames with {min_gap}-frame gaps: lengthen the video or "
            "plan fewer events (synthetic_videos.sizes)"
        )
    extra = rng.dirichlet(np.ones(len(durations) + 1)) * free
    onsets, cursor = [], 0.0
    for duration, gap in zip(durations, extra[:-1]):
        cursor += min_gap + gap
        onsets.append(int(cursor))
        cursor = int(cursor) + duration
    return onsets


def plan_video(spec: dict[str, Any], params: dict[str, Any]) -> tuple[dict, list]:
    """One video's look and events; events carry frame indices and details."""
    rng = np.random.default_rng(_video_seed(spec["seed"], spec["stem"]))
    fps = float(spec["fps"])
    profile = spec["profile"]
    settings = _profile_events(params, profile)
    total = _frames(float(spec["duration_s"]), fps)
    video = {
        "video": f"{spec['stem']}.{params['container']}",
        "stem": spec["stem"],
        "fps": fps,
        "width": spec["width"],
        "height": spec["height"],
        "frame_count": total,
        "duration_s": total / fps,
        "split": spec["split"],
        "seed": spec["seed"],
        "profile": profile,
        **_look(spec, params, rng),
        **_scene(params, profile, rng),
    }
    counts = dict(spec["events"])
    per_minute = float(params["profiles"][profile].get("talking_per_minute", 0.0))
    if per_minute:
        counts["talking"] = counts.get("talking", 0) + max(
            1, round(per_minute * float(spec["duration_s"]) / 60)
        )
    kinds = [k for k, n in counts.items() for _ in range(int(n))]
    sequential = [k for k in kinds if k in _SEQUENTIAL]
    order = rng.permutation(len(sequential))
    sequential = [sequential[i] for i in order]
    details = [_event_details(k, settings, rng) for k in sequential]
    durations = [_frames(d["seconds"], fps) for d in details]
    onsets = _place_sequential(durations, total, _frames(params["min_gap_s"], fps), rng)
    events = [
        {"event": kind, "onset_frame": onset, "offset_frame": onset + length - 1, **d}
        for kind, d, onset, length in zip(sequential, details, onsets, durations)
    ]
    for kind in (k for k in kinds if k not in _SEQUENTIAL):  # head drift overlays
        d = _event_details(kind, settings, rng)
        length = min(_frames(d["seconds"], fps), total)
        onset = int(rng.integers(0, total - length + 1))
        events.append(
            {
                "event": kind,
                "onset_frame": onset,
                "offset_frame": onset + length - 1,
                **d,
            }
        )
    for event in events:
        onset, offset = event["onset_frame"], event["offset_frame"]
        position = event.pop("apex_position", 0.5)
        event["apex_frame"] = int(onset + round((offset - onset) * position))
        del event["seconds"]
    events.sort(key=lambda e: (e["onset_frame"], e["event"]))
    for event in events:
        _check_duration(event, fps, spec["stem"])
    return video, events


def _check_duration(event: dict[str, Any], fps: float, stem: str) -> None:
    """Micro-expressions stay within 1/25..0.5 s and macro ones beyond, counted
    either way (frame gaps or inclusive frames)."""
    span = event["offset_frame"] - event["onset_frame"]
    low, high = MICRO_SECONDS
    if event["event"] == "micro":
        ok = span / fps >= low and (span + 1) / fps <= high
    elif event["event"] == "macro":
        ok = span / fps > high
    else:
        return
    if not ok:
        raise ValueError(
            f"{stem}: a {event['event']} of {span + 1} frames at {fps:g} fps breaks "
            f"the {low:g}-{high:g} s rule; fix synthetic_videos.events."
            f"{event['event']}.duration_s"
        )


def plan_videos(params: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Plan every synthetic video of ``params['size']``.

    Args:
        params: ``params:synthetic_videos`` (size, sizes with their split
            seeds and profiles, profiles, events, look).

    Returns:
        ``(videos, events)``: one row per video (file name, split, seed,
        profile, fps, frame size, frame count, subject look, continuous
        nuisances) and one row per event, with the ground-truth columns
        (``GROUND_TRUTH_COLUMNS``), ``split``, ``seed``, ``profile`` and the
        details that were rendered.
    """
    videos, events = [], []
    for spec in video_specs(params):
        video, video_events = plan_video(spec, params)
        videos.append(video)
        for event in video_events:
            events.append(
                {
                    "video": video["video"],
                    "fps": video["fps"],
                    "split": video["split"],
                    "seed": video["seed"],
                    "profile": video["profile"],
                    **event,
                }
            )
    events_table = pd.DataFrame(events)
    for column in ("emotion", "class3", "action_units"):
        events_table[column] = events_table.get(column, pd.Series(dtype=object))
        events_table[column] = events_table[column].fillna("")
    for edge in ("onset", "apex", "offset"):
        events_table[f"{edge}_s"] = events_table[f"{edge}_frame"] / events_table["fps"]
    rest = [c for c in events_table.columns if c not in GROUND_TRUTH_COLUMNS]
    return pd.DataFrame(videos), events_table[GROUND_TRUTH_COLUMNS + rest]


# --------------------------------------------------------------- rendering ----


# mouth motions of speech: lips part and the jaw drops, the corners draw in a little
TALKING_MOTIONS = [
    ("lower_lip", 0.0, 1.0),
    ("chin", 0.0, 0.9),
    ("upper_lip", 0.0, -0.2),
    ("lip_corner_r", 0.25, 0.0),
    ("lip_corner_l", -0.25, 0.0),
]
BROW_MOTIONS = [  # brows dip with a blink (realistic profile), scaled by blink_brow
    ("brow_inner_r", 0.0, 1.0),
    ("brow_inner_l", 0.0, 1.0),
    ("brow_outer_r", 0.0, 0.6),
    ("brow_outer_l", 0.0, 0.6),
]


@dataclass
class _Expression:
    """A displacement field on a face region, scaled by a time profile."""

    onset: int
    apex: int
    offset: int
    region: tuple[int, int, int, int]  # y0, y1, x0, x1
    field: np.ndarray  # (y1 - y0, x1 - x0, 2) float32
    kind: str  # micro | macro | blink | talking
    fps: float = 30.0
    syllable_hz: float = 4.0
    phase: float = 0.0

    def weight(self, number: int) -> float:
        if self.kind == "blink":
            return bump(number, self.apex, self.offset - self.onset + 1)
        if self.kind == "talking":
            if not self.onset <= number <= self.offset:
                return 0.0
            ramp = max(1, int(round(0.25 * self.fps)))  # speech starts and ends softly
            envelope = min(
                _smoothstep((number - self.onset) / ramp),
                _smoothstep((self.offset - number) / ramp),
            )
            t = (number - self.onset) / self.fps
            syllable = 0.5 * (
                1 - math.cos(2 * math.pi * self.syllable_hz * t + self.phase)
            )
            stress = 0.65 + 0.35 * math.sin(2 * math.pi * 0.9 * t + 2 * self.phase)
            return envelope * syllable * stress
        return expression_profile(number, self.onset, self.apex, self.offset)


def _local_field(
    points: list[tuple[float, float, float, float]],
    sigma: float,
    shape: tuple[int, int],
) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """Displacement field of ``points`` restricted to the region it covers."""
    radius = int(math.ceil(3 * sigma)) + 1
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    y0 = max(int(min(ys)) - radius, 0)
    y1 = min(int(max(ys)) + radius + 1, shape[0])
    x0 = max(int(min(xs)) - radius, 0)
    x1 = min(int(max(xs)) + radius + 1, shape[1])
    shifted = [(x - x0, y - y0, vx, vy) for x, y, vx, vy in points]
    return (y0, y1, x0, x1), displacement_field(shifted, sigma, (y1 - y0, x1 - x0))


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


class VideoScene:
    """Renders any frame of one planned video."""

    def __init__(
        self,
        photo: np.ndarray,
        video: dict[str, Any],
        events: list[dict[str, Any]],
        render: dict[str, Any],
    ):
        self.video = video
        self.size = (int(video["width"]), int(video["height"]))
        look = SubjectLook(**{k: video[k] for k in SubjectLook.__dataclass_fields__})
        self.subject = compose_subject(photo, look, self.size)
        canvas = self.subject.canvas
        self.face_centre = (look.center_x * self.size[0], look.center_y * self.size[1])
        border = np.concatenate([canvas[0], canvas[-1], canvas[:, 0], canvas[:, -1]])
        self.wall = tuple(float(v) for v in np.median(border, axis=0))
        self.face_px = float(video["face_width_px"])
        self.events = events
        sigmas = {
            "blink": render["blink_sigma_face"] * self.face_px,  # eyelids are thin
            "micro": render["sigma_face"] * self.face_px,
            "macro": render["sigma_face"] * self.face_px,
            "talking": render["sigma_face"] * self.face_px,
        }
        brow = float(video.get("blink_brow", 0.0) or 0.0)
        motions_of = {
            "blink": BLINK_MOTIONS
            + [(name, dx, dy * brow) for name, dx, dy in BROW_MOTIONS if brow],
            "talking": TALKING_MOTIONS,
        }
        self.expressions = []
        for e in events:
            if e["event"] not in sigmas:
                continue
            motions = motions_of.get(e["event"]) or au_points(e["action_units"])
            # the largest landmark motion of every recipe is the planned amplitude
            largest = max(math.hypot(dx, dy) for _, dx, dy in motions)
            points = landmark_motions(
                self.subject, motions, e["amplitude"] * self.face_px / largest
            )
            region, local = _local_field(points, sigmas[e["event"]], canvas.shape[:2])
            self.expressions.append(
                _Expression(
                    e["onset_frame"],
                    e["apex_frame"],
                    e["offset_frame"],
                    region,
                    local,
                    e["event"],
                    fps=float(video["fps"]),
                    syllable_hz=float(e.get("syllable_hz", 4.0)),
                    phase=float(e.get("phase", 0.0)),
                )
            )
        rng = np.random.default_rng([*render["seed"], 1])
        height, width = canvas.shape[:2]
        self.noise_bank = rng.normal(
            0.0,
            render["noise_sd"],
            size=(_NOISE_BANK_SIZE, height + _NOISE_MARGIN, width + _NOISE_MARGIN, 3),
        ).astype(np.float32)
        self.seed = render["seed"]
        self.x_ramp = (np.arange(width, dtype=np.float32) / width - 0.5)[None, :, None]

    def _continuous_pose(self, number: int) -> tuple[float, float, float]:
        """Sway (x), nodding (y) and yaw of the realistic profile; zeros otherwise."""
        v, t = self.video, number / float(self.video["fps"])

        def wave(amplitude_key: str, period_key: str, phase_key: str) -> float:
            amplitude = float(v.get(amplitude_key, 0.0) or 0.0)
            if not amplitude:
                return 0.0
            return amplitude * math.sin(
                2 * math.pi * t / float(v[period_key]) + float(v[phase_key])
            )

        return (
            wave("sway_face", "sway_period_s", "sway_phase") * self.face_px,
            wave("nod_face", "nod_period_s", "nod_phase") * self.face_px,
            abs(wave("yaw", "yaw_period_s", "yaw_phase")),
        )

    def _pose(self, number: int) -> tuple[float, float, float, float, bool]:
        """Head translation (px), roll (deg), yaw squeeze and whether the face pans out."""
        tx, ty, yaw = self._continuous_pose(number)
        roll = 0.0
        out = False
        for e in self.events:
            onset, offset = e["onset_frame"], e["offset_frame"]
            if not onset <= number <= offset:
                continue
            length = offset - onset + 1
            if e["event"] == "head_turn":
                w = bump(number, e["apex_frame"], length)
                tx += w * e["shift_x"] * self.face_px
                ty += w * e["shift_y"] * self.face_px
                roll += w * e["roll_deg"]
                yaw += w * e["yaw"]
            elif e["event"] == "head_drift":
                fps = self.video["fps"]
                t = (number - onset) / fps
                envelope = math.sin(math.pi * (number - onset) / length) ** 2
                phase = 2 * math.pi * t / e["period_s"]
                tx += envelope * e["shift_x"] * self.face_px * math.sin(phase)
                ty += envelope * e["shift_y"] * self.face_px * math.sin(0.7 * phase)
            elif e["event"] == "face_out":
                slide = max(_frames(e["slide_s"], self.video["fps"]), 1)
                w = min(
                    _smoothstep((number - onset) / slide),
                    _smoothstep((offset - number) / slide),
                )
                width, height = self.size
                distance = (
                    [-1, 1][e["direction"] % 2] * (width + self.face_px)
                    if e["direction"] < 2
                    else [-1, 1][e["direction"] % 2] * (height + self.face_px)
                )
                if e["direction"] < 2:
                    tx += w * distance
                else:
                    ty += w * distance
                out = True
        return tx, ty, roll, yaw, out

    def _light(self, number: int) -> tuple[float, float]:
        level = gradient = 0.0
        drift = float(self.video.get("exposure_drift", 0.0) or 0.0)
        if drift:  # a camera's auto-exposure wandering slowly
            t = number / float(self.video["fps"])
            level += drift * math.sin(
                2 * math.pi * t / float(self.video["exposure_period_s"])
                + float(self.video["exposure_phase"])
            )
        for e in self.events:
            if e["event"] != "lighting_change" or number < e["onset_frame"]:
                continue
            length = e["offset_frame"] - e["onset_frame"] + 1
            w = _smoothstep((number - e["onset_frame"] + 1) / length)
            level += w * e["light_change"]
            gradient += w * e["light_gradient"] * e["light_change"]
        return level, gradient

    def frame(self, number: int) -> np.ndarray:
        """Frame ``number`` (0-based) as a ``uint8`` BGR image."""
        canvas = self.subject.canvas
        image = canvas
        active = [(x, w) for x in self.expressions if (w := x.weight(number)) > 0.0]
        if active:
            image = canvas.copy()
            for expression, weight in active:
                y0, y1, x0, x1 = expression.region
                gx, gy = np.meshgrid(
                    np.arange(x0, x1, dtype=np.float32),
                    np.arange(y0, y1, dtype=np.float32),
                )
                image[y0:y1, x0:x1] = cv2.remap(
                    image,
                    gx - weight * expression.field[..., 0],
                    gy - weight * expression.field[..., 1],
                    interpolation=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE,
                )
        tx, ty, roll, yaw, out = self._pose(number)
        if tx or ty or roll or yaw:
            # a yaw turn narrows the face about its centre; roll turns it
            cx = self.face_centre[0]
            squeeze = np.array([[1.0 - yaw, 0.0, yaw * cx], [0.0, 1.0, 0.0], [0, 0, 1]])
            matrix = cv2.getRotationMatrix2D(self.face_centre, roll, 1.0) @ squeeze
            matrix[:, 2] += [tx, ty]
            image = cv2.warpAffine(
                image,
                matrix,
                self.size,
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT if out else cv2.BORDER_REPLICATE,
                borderValue=self.wall,
            )
        level, gradient = self._light(number)
        if level or gradient:
            image = image * (1.0 + level + gradient * self.x_ramp)
        rng = np.random.default_rng([*self.seed, number])
        k, oy, ox = rng.integers([_NOISE_BANK_SIZE, _NOISE_MARGIN, _NOISE_MARGIN])
        height, width = image.shape[:2]
        image = image + self.noise_bank[k, oy : oy + height, ox : ox + width]
        np.clip(image, 0, 255, out=image)
        return (image + 0.5).astype(np.uint8)


@dataclass
class SyntheticVideo:
    """A lazily rendered video: what the video writer needs, picklable.

    Frames are rendered only when ``frames()`` is iterated (in the process that
    writes the file), one at a time.
    """

    fps: float
    frame_size: tuple[int, int]  # width, height
    frame_count: int
    photo: np.ndarray
    video: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    render: dict[str, Any] = field(default_factory=dict)

    def scene(self) -> VideoScene:
        return VideoScene(self.photo, self.video, self.events, self.render)

    def frames(self) -> Iterator[np.ndarray]:
        scene = self.scene()
        for number in range(self.frame_count):
            yield scene.frame(number)


def _records(events: pd.DataFrame) -> list[dict[str, Any]]:
    records = []
    for row in events.to_dict("records"):
        records.append(
            {
                k: (int(v) if k.endswith("_frame") or k == "direction" else v)
                for k, v in row.items()
                if not (isinstance(v, float) and math.isnan(v))
            }
        )
    return records


def render_videos(
    face_photos: dict[str, np.ndarray],
    videos: pd.DataFrame,
    events: pd.DataFrame,
    params: dict[str, Any],
) -> dict[str, SyntheticVideo]:
    """Every planned video as a lazily rendered ``SyntheticVideo``, by file name."""
    rendered = {}
    for video in videos.to_dict("records"):
        if video["photo"] not in face_photos:
            raise ValueError(
                f"photo '{video['photo']}' of {video['video']} is not among the "
                f"loaded face photographs {sorted(face_photos)}"
            )
        rendered[video["video"]] = SyntheticVideo(
            fps=float(video["fps"]),
            frame_size=(int(video["width"]), int(video["height"])),
            frame_count=int(video["frame_count"]),
            photo=face_photos[video["photo"]],
            video=video,
            events=_records(events[events["video"] == video["video"]]),
            render={
                "sigma_face": float(params["sigma_face"]),
                "blink_sigma_face": float(params["blink_sigma_face"]),
                "noise_sd": float(params["noise_sd"]),
                "seed": tuple(_video_seed(video["seed"], video["stem"])),
            },
        )
    return rendered


def ground_truth_tables(events: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One ground-truth table per video, keyed by stem (``<stem>.ground_truth.csv``).

    Columns: ``GROUND_TRUTH_COLUMNS``, ``data_source`` (``SYNTHETIC``),
    ``split`` (dev | test), ``seed`` and ``profile`` (standard | realistic).
    """
    tables = {}
    for name, table in events.groupby("video", sort=True):
        stem = name.rsplit(".", 1)[0]
        tables[stem] = table[[*GROUND_TRUTH_COLUMNS, *SPLIT_COLUMNS]].assign(
            data_source=DATA_SOURCE
        )
    return tables


def describe_videos(
    videos: pd.DataFrame, events: pd.DataFrame, params: dict[str, Any]
) -> dict[str, Any]:
    """The ``VIDEOS_SYNTHETIC.json`` manifest of the synthetic videos."""
    counts = events.groupby(["video", "event"]).size().unstack(fill_value=0)
    return {
        "synthetic": True,
        "description": (
            "SYNTHETIC demo data generated by me_emotion: real face photographs "
            "animated with rendered action-unit movements (micro- and "
            "macro-expressions) among blinks, head turns, head drift, a lighting "
            "change and the face leaving the frame; the realistic profile adds "
            "talking, continuous head sway, nodding and yaw, blinks that move "
            "the brows and exposure drift. Not recordings of people's "
            "expressions; spotting scores on it are not comparable with CAS(ME)^2 "
            "or SAMM long videos. Split dev: seeds spotting may be tuned on; "
            "split test: seeds never used to choose anything."
        ),
        "generator_version": GENERATOR_VERSION,
        "size": params["size"],
        "splits": {
            split: [int(seed) for seed in seeds or []]
            for split, seeds in params["sizes"][params["size"]]["splits"].items()
        },
        "profiles": list(params["sizes"][params["size"]]["profiles"]),
        "videos": [
            {
                "video": v["video"],
                "split": v["split"],
                "seed": int(v["seed"]),
                "profile": v["profile"],
                "fps": float(v["fps"]),
                "width": int(v["width"]),
                "height": int(v["height"]),
                "frame_count": int(v["frame_count"]),
                "duration_s": float(v["duration_s"]),
                "photo": v["photo"],
                "events": {
                    k: int(n) for k, n in counts.loc[v["video"]].items() if n > 0
                },
            }
            for v in videos.to_dict("records")
        ],
        "photographs": {
            name: PHOTO_CREDITS[name] for name in sorted(videos["photo"].unique())
        },
    }
