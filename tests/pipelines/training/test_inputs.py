"""Model inputs: labels, AUs, images rebuilt per aug_id, the composite join."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from me_emotion.core.augmentation import model_images
from me_emotion.core.clip_frames import ClipFrames
from me_emotion.core.vgg16 import EMBEDDING_COLUMNS
from me_emotion.pipelines.training.evaluation import model_arrays
from me_emotion.pipelines.training.inputs import (
    ACTION_UNITS,
    ModelInputs,
    apex_minus_onset,
    check_every_class_has_clips,
    join_inputs,
    multi_hot,
    parse_classes,
)
from me_emotion.pipelines.training.nodes import assemble_model_inputs, join_datasets
from me_emotion.pipelines.training.registry import MODELS

from .conftest import make_inputs

FEATURE_PARAMS = {
    "image": {"size": 224, "border_px": 3},
    "augmentation": {
        "variants": 1,
        "seed": 3,
        "flip_probability": 0.5,
        "max_rotation_deg": 10.0,
        "scale_range": [0.9, 1.1],
    },
}
CLIPS = [  # subject, clip, emotion, task label, AUs
    ("sub01", "EP01", "happiness", "happiness", ["AU6", "AU12"]),
    ("sub01", "EP02", "disgust", "disgust", ["AU4", "AU9"]),
    ("sub02", "EP01", "surprise", "surprise", ["AU1", "AU2"]),
    ("sub02", "EP03", "others", "others", ["AU38"]),
    (
        "sub02",
        "EP04",
        "fear",
        None,
        ["AU99"],
    ),  # outside the class set, never featurised
]


@pytest.fixture
def stage_inputs():
    rng = np.random.default_rng(0)
    featurised = [c for c in CLIPS if c[3] is not None]
    clip_index = pd.DataFrame(
        {
            "dataset": "casme2",
            "source": "synthetic",
            "subject": [c[0] for c in CLIPS],
            "clip": [c[1] for c in CLIPS],
            "emotion": [c[2] for c in CLIPS],
            "label": [c[3] for c in CLIPS],
            "au_codes": [c[4] for c in CLIPS],
        }
    )
    crops, rows = {}, []
    for subject, clip, _, label, _ in featurised:
        partition = f"{subject}/{clip}"
        crops[partition] = ClipFrames(
            rng.integers(0, 256, (3, 64, 64), dtype=np.uint8),
            np.array([10, 20, 30]),
            10,
            20,
            30,
        )
        for aug_id in (0, 1):
            for position, frame in enumerate([10, 20, 30]):
                rows.append(
                    {
                        "dataset": "casme2",
                        "subject": subject,
                        "clip": clip,
                        "partition": partition,
                        "label": label,
                        "frame": frame,
                        "position": position,
                        "is_apex": frame == 20,
                        "aug_id": aug_id,
                        "weights": "hed",
                        "precision": "float32",
                    }
                )
    embeddings = pd.concat(
        [
            pd.DataFrame(rows),
            pd.DataFrame(
                rng.normal(size=(len(rows), 512)).astype(np.float32),
                columns=EMBEDDING_COLUMNS,
            ),
        ],
        axis=1,
    )
    partitions = [f"{c[0]}/{c[1]}" for c in featurised][
        ::-1
    ]  # another order than the table
    flow = {
        "features": rng.normal(size=(len(partitions), 4, 8, 8)).astype(np.float32),
        "channels": np.array(["u", "v", "magnitude", "strain"]),
        "partition": np.array(partitions),
        "flow_to": np.full(len(partitions), 20),
    }
    loaders = {key: (lambda value=value: value) for key, value in crops.items()}
    return clip_index, embeddings, flow, loaders


def test_assembled_inputs(stage_inputs, params):
    clip_index, embeddings, flow, crops = stage_inputs
    params = {
        **params,
        "classes": ["happiness", "disgust", "surprise", "repression", "others"],
    }
    inputs = ModelInputs.from_arrays(
        assemble_model_inputs(
            clip_index, embeddings, flow, crops, FEATURE_PARAMS, params
        )
    )
    assert inputs.clip_partition.tolist() == [
        "sub01/EP01",
        "sub01/EP02",
        "sub02/EP01",
        "sub02/EP03",
    ]
    assert inputs.clip_label.tolist() == ["happiness", "disgust", "surprise", "others"]
    assert inputs.clip_y.tolist() == [0, 1, 2, 4]
    assert inputs.images.shape == (24, 32, 32) and inputs.images.dtype == np.uint8
    assert inputs.embeddings.shape == (24, 512)
    assert inputs.action_units[0, ACTION_UNITS.index("AU12")] == 1
    assert inputs.action_units.sum(axis=1).tolist() == [2, 2, 2, 1]
    # flow rows follow the clips, channels last
    assert inputs.flow.shape == (4, 8, 8, 4)
    assert np.array_equal(inputs.flow[0, ..., 0], flow["features"][3, 0])
    # the image of aug_id 1 is the feature stage's variant 1, at the branch's size
    sample = np.flatnonzero((inputs.sample_clip == 1) & (inputs.sample_aug_id == 1))[2]
    expected = model_images(
        crops["sub01/EP02"]().frames,
        "sub01/EP02",
        1,
        FEATURE_PARAMS["augmentation"],
        {"size": 32, "border_px": 1},
    )
    assert np.array_equal(
        inputs.images[sample], expected[inputs.sample_position[sample]]
    )
    assert str(inputs.embedding_weights) == "hed"


def test_labels_outside_the_classes_are_refused(stage_inputs, params):
    clip_index, embeddings, flow, crops = stage_inputs
    with pytest.raises(ValueError, match="not in training.classes"):
        assemble_model_inputs(
            clip_index,
            embeddings,
            flow,
            crops,
            FEATURE_PARAMS,
            {**params, "classes": ["happiness", "disgust"]},
        )


def test_class_map_relabels_from_the_raw_emotion(stage_inputs, params):
    clip_index, embeddings, flow, crops = stage_inputs
    params = {
        **params,
        "classes": ["negative", "positive", "surprise"],
        "class_map": {
            "Happiness": "positive",
            "disgust": "negative",
            "surprise": "surprise",
            "fear": "negative",
        },
    }
    inputs = ModelInputs.from_arrays(
        assemble_model_inputs(
            clip_index, embeddings, flow, crops, FEATURE_PARAMS, params
        )
    )
    assert inputs.clip_label.tolist() == [
        "positive",
        "negative",
        "surprise",
    ]  # others left out


def test_a_class_without_clips_is_a_clear_error():
    inputs = make_inputs({"s0": ["negative", "positive"], "s1": ["negative"]})
    with pytest.raises(ValueError, match=r"\['surprise'\].*have no clips"):
        check_every_class_has_clips(inputs)


def test_class_parameters_are_checked():
    with pytest.raises(ValueError, match="at least two distinct"):
        parse_classes({"classes": ["a", "a"]})
    with pytest.raises(ValueError, match="not in training.classes"):
        parse_classes({"classes": ["a", "b"], "class_map": {"x": "c"}})


def test_multi_hot_ignores_unknown_codes():
    vector = multi_hot(["AU1", "au12", "AU99"])
    assert vector.sum() == 2 and vector[0] == 1 and vector[11] == 1


def test_join_prefixes_subjects_and_partitions():
    casme2 = make_inputs({"sub01": ["negative", "positive", "surprise"]})
    samm = make_inputs({"sub01": ["negative", "surprise"]}, dataset="samm")
    joined = ModelInputs.from_arrays(
        join_datasets(casme2.to_arrays(), samm.to_arrays())
    )
    assert sorted(set(joined.clip_subject.tolist())) == ["casme2/sub01", "samm/sub01"]
    assert joined.clip_partition[-1] == "samm/sub01/sub01_c1"
    # samples still point at their own clip
    assert np.array_equal(joined.clip_label[joined.sample_clip][-1:], ["surprise"])
    assert len(joined.sample_clip) == len(casme2.sample_clip) + len(samm.sample_clip)


def test_join_refuses_mismatched_parts():
    with pytest.raises(ValueError, match="image size"):
        join_inputs(
            {"casme2": make_inputs(image_size=32), "samm": make_inputs(image_size=48)}
        )


def test_apex_minus_onset_cancels_a_subject_constant_offset_by_hand():
    """Hand-made: the same offset on every frame of a clip leaves apex - onset as is."""
    onset = np.array([[1.0, 2.0, 0.0]], np.float32)
    apex = np.array([[1.5, 2.0, -1.0]], np.float32)
    offset = np.array([10.0, -3.0, 7.25], np.float32)  # the person, say
    expected = np.array([[0.5, 0.0, -1.0]], np.float32)
    np.testing.assert_array_equal(apex_minus_onset(onset, apex), expected)
    np.testing.assert_array_equal(
        apex_minus_onset(onset + offset, apex + offset), expected
    )
    # uint8 images: widened before subtracting, so a darker apex is negative, not 255
    onset_image = np.array([[[100, 50], [7, 200]]], np.uint8)
    apex_image = np.array([[[101, 40], [7, 200]]], np.uint8)
    brighter = np.array([[[20, 20], [20, 20]]], np.uint8)  # a lighter-skinned subject
    image_delta = np.array([[[1.0, -10.0], [0.0, 0.0]]], np.float32)
    np.testing.assert_array_equal(
        apex_minus_onset(onset_image, apex_image), image_delta
    )
    np.testing.assert_array_equal(
        apex_minus_onset(onset_image + brighter, apex_image + brighter), image_delta
    )


def test_the_default_hybrid_reads_the_same_arrays_whatever_a_subject_adds():
    """Through the model's inputs: one subject's clips shifted by one constant
    (embedding and image) give the onset-relative model identical arrays."""
    inputs = make_inputs()
    spec = MODELS["hybrid_micronet"]
    options = {"branches": ["image_delta", "embedding_delta"]}
    clips = np.arange(len(inputs.clip_y))
    before = model_arrays(inputs, spec, clips, options)
    assert set(before) == {"image_delta", "embedding_delta"}
    subject = inputs.clip_subject == "s1"
    shift = np.linspace(-2.0, 5.0, inputs.onset_embedding.shape[1]).astype(np.float32)
    shifted = ModelInputs(
        **{
            **vars(inputs),
            "onset_embedding": np.where(
                subject[:, None], inputs.onset_embedding + shift, inputs.onset_embedding
            ),
            "apex_embedding": np.where(
                subject[:, None], inputs.apex_embedding + shift, inputs.apex_embedding
            ),
            # the fixture's images stay below 210, so + 45 does not saturate
            "onset_image": np.where(
                subject[:, None, None], inputs.onset_image + 45, inputs.onset_image
            ).astype(np.uint8),
            "apex_image": np.where(
                subject[:, None, None], inputs.apex_image + 45, inputs.apex_image
            ).astype(np.uint8),
        }
    )
    after = model_arrays(shifted, spec, clips, options)
    assert not np.array_equal(shifted.onset_embedding, inputs.onset_embedding)
    for name, value in before.items():
        np.testing.assert_allclose(after[name], value, atol=1e-5)
