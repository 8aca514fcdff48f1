import numpy as np
import pytest

from me_emotion.core.emotion_groups import GROUPS, class_groups, group_probabilities
from tests.conftest import conf_parameters


@pytest.fixture(scope="module")
def maps():
    return conf_parameters("composite", "composite", "labels", "class_maps")


def test_every_emotion_of_both_class_sets_maps_to_its_group(maps):
    casme2 = ["happiness", "disgust", "surprise", "repression", "others"]
    samm = ["anger", "contempt", "happiness", "surprise", "other"]
    assert class_groups(casme2, maps["casme2"]) == [
        "positive",
        "negative",
        "surprise",
        "negative",
        "others",
    ]
    assert class_groups(samm, maps["samm"]) == [
        "negative",
        "negative",
        "positive",
        "surprise",
        "others",
    ]


def test_group_probability_is_the_sum_not_the_argmax():
    # disgust 0.3 + repression 0.3 = 0.6 negative beats happiness 0.4 (the argmax)
    p = np.array([[0.4, 0.3, 0.0, 0.3, 0.0]])
    classes = ["happiness", "disgust", "surprise", "repression", "others"]
    cmap = {"disgust": "negative", "repression": "negative", "happiness": "positive"}
    summed = group_probabilities(p, classes, cmap)
    assert summed[0] == pytest.approx([0.6, 0.4, 0.0, 0.0])
    assert GROUPS[int(summed.argmax())] == "negative"
