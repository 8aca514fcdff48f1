"""Action-unit-like facial motions and the emotion -> AU recipes of the demo data.

Coordinates are fractions of a Haar frontal-face box (x to the image's right,
y down). Sided landmarks end in ``_r`` (the subject's right, image left) or
``_l`` (the subject's left, image right), matching FACS ``R``/``L`` prefixes.
A motion is ``(landmark, outward, dy)`` in units of the clip's amplitude:
``outward`` moves away from the face's vertical midline.
"""

from __future__ import annotations

LANDMARKS: dict[str, tuple[float, float]] = {
    "brow_inner_r": (0.40, 0.30),
    "brow_inner_l": (0.60, 0.30),
    "brow_outer_r": (0.24, 0.31),
    "brow_outer_l": (0.76, 0.31),
    "upper_lid_r": (0.32, 0.38),
    "upper_lid_l": (0.68, 0.38),
    "lower_lid_r": (0.32, 0.44),
    "lower_lid_l": (0.68, 0.44),
    "cheek_r": (0.30, 0.58),
    "cheek_l": (0.70, 0.58),
    "nose_root": (0.50, 0.42),
    "nose_wing_r": (0.43, 0.63),
    "nose_wing_l": (0.57, 0.63),
    "upper_lip_side_r": (0.44, 0.73),
    "upper_lip_side_l": (0.56, 0.73),
    "upper_lip": (0.50, 0.74),
    "lip_corner_r": (0.36, 0.79),
    "lip_corner_l": (0.64, 0.79),
    "lower_lip": (0.50, 0.85),
    "chin": (0.50, 0.94),
}

# FACS action unit -> motions of sided landmark pairs ("brow_inner") or midline points.
AU_MOTIONS: dict[int, list[tuple[str, float, float]]] = {
    1: [("brow_inner", 0.0, -1.0)],  # inner brow raiser
    2: [("brow_outer", 0.0, -1.0)],  # outer brow raiser
    4: [("brow_inner", -0.5, 0.8), ("brow_outer", 0.0, 0.4)],  # brow lowerer
    5: [("upper_lid", 0.0, -0.6)],  # upper lid raiser
    6: [("cheek", 0.0, -0.7), ("lower_lid", 0.0, -0.4)],  # cheek raiser
    7: [("lower_lid", 0.0, -0.7)],  # lid tightener
    9: [("nose_root", 0.0, 0.6), ("nose_wing", 0.0, -0.7)],  # nose wrinkler
    10: [("upper_lip_side", 0.0, -0.9)],  # upper lip raiser
    12: [("lip_corner", 0.7, -0.7)],  # lip corner puller
    14: [("lip_corner", 0.6, -0.2)],  # dimpler
    15: [("lip_corner", 0.0, 0.9)],  # lip corner depressor
    17: [("chin", 0.0, -0.9), ("lower_lip", 0.0, -0.5)],  # chin raiser
    18: [("lip_corner", -0.7, 0.0)],  # lip pucker
    20: [("lip_corner", 0.9, 0.2)],  # lip stretcher
    24: [("upper_lip", 0.0, 0.4), ("lower_lip", 0.0, -0.4)],  # lip pressor
    25: [("lower_lip", 0.0, 0.6)],  # lips part
    26: [("chin", 0.0, 0.9), ("lower_lip", 0.0, 0.6)],  # jaw drop
    38: [("nose_wing", 0.6, 0.0)],  # nostril dilator
    43: [("upper_lid", 0.0, 1.2)],  # eyes closed
}

# Emotion (lowercase) -> FACS codes as a coder would write them; one is drawn per clip.
RECIPES: dict[str, list[str]] = {
    "happiness": ["6+12", "12", "6+12+25", "12+25"],
    "surprise": ["1+2", "1+2+5", "1+2+26", "1+2+25"],
    "disgust": ["9", "10", "9+10", "4+9", "4+7+L10"],
    "repression": ["17", "24", "15+17", "17+24", "14"],
    "anger": ["4", "4+7", "4+5", "4+7+24"],
    "contempt": ["R14", "L14", "R12", "L12"],
    "sadness": ["15", "1+15", "1+4+15", "15+17"],
    "fear": ["1+2+4", "1+4", "20", "1+2+4+20", "4+20"],
    # "others": small movements unrelated to the task classes
    "others": ["4", "7", "38", "L2", "R1", "25", "18", "L7"],
}
RECIPES["other"] = RECIPES["others"]

# Approximate objective class (Davison et al. 2018, I..VII as 1..7) per emotion.
OBJECTIVE_CLASS = {
    "happiness": 1,
    "surprise": 2,
    "anger": 3,
    "disgust": 4,
    "contempt": 5,
    "repression": 5,
    "sadness": 5,
    "fear": 6,
    "others": 7,
    "other": 7,
}


def au_points(codes: str) -> list[tuple[str, float, float]]:
    """Landmark motions ``(landmark, dx, dy)`` (face-box units) of a FACS string.

    ``"4+7+L10"`` -> brow, lid and the subject's-left upper-lip motions. ``dx``
    is signed in image coordinates (outward on the subject's right is -x).
    """
    points: list[tuple[str, float, float]] = []
    for token in codes.split("+"):
        side = token[0] if token[0] in "LR" else ""
        au = int(token.lstrip("LR"))
        for landmark, outward, dy in AU_MOTIONS[au]:
            if landmark in LANDMARKS:  # a midline point
                points.append((landmark, 0.0, dy))
                continue
            for suffix, sign in (("_r", -1.0), ("_l", 1.0)):
                if side and suffix[1].upper() != side:
                    continue
                points.append((landmark + suffix, sign * outward, dy))
    return points


BLINK_MOTIONS = [
    ("upper_lid_r", 0.0, 1.0),
    ("upper_lid_l", 0.0, 1.0),
    ("lower_lid_r", 0.0, -0.3),
    ("lower_lid_l", 0.0, -0.3),
]
