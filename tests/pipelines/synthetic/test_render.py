from __future__ import annotations

import numpy as np
import pytest

from me_emotion.datasets.packaged_faces import PHOTOGRAPHS
from me_emotion.pipelines.synthetic.expressions import LANDMARKS, RECIPES, au_points
from me_emotion.pipelines.synthetic.render import (
    SubjectLook,
    bump,
    clip_renderer,
    compose_subject,
    displacement_field,
    expression_profile,
    landmark_motions,
)

LOOK = SubjectLook(
    photo="hopper",
    mirror=False,
    face_width_px=220.0,
    center_x=0.5,
    center_y=0.46,
    rotation_deg=0.0,
    aspect=1.0,
    gamma=1.0,
    contrast=1.0,
    brightness=0.0,
    tint_b=1.0,
    tint_g=1.0,
    tint_r=1.0,
)


@pytest.fixture(scope="module")
def subject():
    return compose_subject(PHOTOGRAPHS["hopper"](), LOOK, (640, 480))


def test_expression_profile_rises_to_apex_and_falls():
    values = [expression_profile(f, 10, 20, 40) for f in range(5, 46)]
    assert values[:6] == [0.0] * 6  # up to onset
    assert expression_profile(20, 10, 20, 40) == pytest.approx(1.0)
    assert max(values) == pytest.approx(1.0)
    assert np.all(np.diff(values[5:16]) > 0) and np.all(np.diff(values[16:36]) < 0)
    assert expression_profile(40, 10, 20, 40) == 0.0


def test_bump_is_a_pulse():
    assert bump(50, 50, 20) == pytest.approx(1.0)
    assert bump(39, 50, 20) == 0.0 and bump(61, 50, 20) == 0.0


def test_sided_action_units_move_one_side_only():
    both = {name for name, _, _ in au_points("12")}
    left = {name for name, _, _ in au_points("L12")}
    assert both == {"lip_corner_r", "lip_corner_l"}
    assert left == {"lip_corner_l"}
    # lip corners pulled outward: subject's right (image left) moves to -x
    motions = dict((name, (dx, dy)) for name, dx, dy in au_points("12"))
    assert motions["lip_corner_r"][0] < 0 < motions["lip_corner_l"][0]


def test_every_recipe_uses_known_action_units():
    for recipes in RECIPES.values():
        for codes in recipes:
            assert au_points(codes)


def test_subject_face_lands_where_the_look_says(subject):
    nose_x, nose_y, _, _ = landmark_motions(subject, [("nose_root", 0, 0)], 1)[0]
    assert nose_x == pytest.approx(0.5 * 640, abs=0.05 * 220)  # box centre at center_x
    assert subject.canvas.shape == (480, 640, 3)


def test_displacement_field_peaks_at_the_landmark():
    field = displacement_field([(30.0, 20.0, 2.0, -1.0)], sigma=4.0, shape=(50, 60))
    magnitude = np.linalg.norm(field, axis=2)
    assert np.unravel_index(magnitude.argmax(), magnitude.shape) == (20, 30)
    assert field[20, 30] == pytest.approx([2.0, -1.0])
    assert magnitude[0, 0] == 0.0


def _renderer(subject, aus: str, noise_sd: float = 0.0):
    return clip_renderer(
        subject=subject,
        aus=aus,
        amplitude_px=2.0,
        sigma_face=0.06,
        blink_px=5.0,
        onset=0,
        apex=20,
        offset=40,
        blink_frame=None,
        blink_duration=20.0,
        drift=np.zeros((2, 2, 3)) + [0.0, 100.0, 0.0],
        illumination=np.array([0.0, 100.0, 0.0, 0.0]),
        noise_sd=noise_sd,
        color=True,
        seed=(1, 2, 3),
    )


def test_apex_differs_from_onset_where_the_action_unit_acts(subject):
    renderer = _renderer(subject, "12")
    change = np.abs(
        renderer.frame(20).astype(float) - renderer.frame(0).astype(float)
    ).sum(axis=2)
    corner = landmark_motions(subject, [("lip_corner_r", 0, 0)], 1)[0]
    brow = landmark_motions(subject, [("brow_inner_r", 0, 0)], 1)[0]

    def around(point):
        x, y = int(point[0]), int(point[1])
        return change[y - 15 : y + 16, x - 15 : x + 16].mean()

    assert around(corner) > 1.0  # the mouth corner moved
    assert around(brow) < 0.1 * around(corner)  # the brows did not


def test_frames_are_deterministic_and_noise_varies_per_frame(subject):
    renderer = _renderer(subject, "1+2", noise_sd=2.0)
    first = renderer.frame(5)
    assert np.array_equal(first, _renderer(subject, "1+2", noise_sd=2.0).frame(5))
    still = renderer.frame(45), renderer.frame(46)  # after offset: only noise differs
    assert not np.array_equal(*still)
    assert np.abs(still[0].astype(float) - still[1].astype(float)).mean() < 4.0


def test_landmarks_lie_inside_the_face_box():
    for u, v in LANDMARKS.values():
        assert 0.0 < u < 1.0 and 0.0 < v < 1.0
