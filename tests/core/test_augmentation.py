from __future__ import annotations

import numpy as np
import pytest

from me_emotion.core.augmentation import (
    IDENTITY,
    apply_augmentation,
    augmentation_for,
    model_images,
    to_model_image,
)

AUG = {
    "seed": 7,
    "flip_probability": 0.5,
    "max_rotation_deg": 10.0,
    "scale_range": [0.9, 1.1],
}
IMAGE = {"size": 224, "border_px": 3}


@pytest.fixture
def crops() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(1, 256, size=(3, 256, 256), dtype=np.uint8)


def test_model_image_size_and_border(crops):
    image = to_model_image(crops[0], 224, 3)
    assert image.shape == (224, 224) and image.dtype == np.uint8
    assert not image[:3].any() and not image[-3:].any()
    assert not image[:, :3].any() and not image[:, -3:].any()
    assert image[3:-3, 3:-3].min() > 0  # the crop fills the inside


def test_aug_id_zero_is_the_untouched_image(crops):
    assert augmentation_for("sub01/EP02_01f", 0, AUG) == IDENTITY
    images = model_images(crops, "sub01/EP02_01f", 0, AUG, IMAGE)
    assert np.array_equal(images[1], to_model_image(crops[1]))


def test_variants_are_deterministic_and_differ(crops):
    first = model_images(crops, "sub01/EP02_01f", 1, AUG, IMAGE)
    again = model_images(crops, "sub01/EP02_01f", 1, AUG, IMAGE)
    assert np.array_equal(first, again)
    assert not np.array_equal(
        first, model_images(crops, "sub01/EP02_01f", 0, AUG, IMAGE)
    )
    others = {augmentation_for("sub01/EP02_01f", k, AUG) for k in range(1, 6)}
    assert len(others) == 5
    other_seed = augmentation_for("sub01/EP02_01f", 1, {**AUG, "seed": 8})
    assert other_seed != augmentation_for("sub01/EP02_01f", 1, AUG)


def test_one_transform_for_every_frame_of_a_clip(crops):
    same = np.stack([crops[0]] * 3)
    images = model_images(same, "sub02/EP01_01", 2, AUG, IMAGE)
    assert np.array_equal(images[0], images[2])


def test_flip_mirrors_the_image():
    image = np.zeros((8, 8), np.uint8)
    image[:, 0] = 255
    flipped = apply_augmentation(
        image, IDENTITY.__class__(flip=True, rotation_deg=0.0, scale=1.0)
    )
    assert flipped[:, -1].min() == 255 and flipped[:, 0].max() == 0


def test_border_must_leave_an_image(crops):
    with pytest.raises(ValueError, match="leaves no image"):
        to_model_image(crops[0], 6, 3)
