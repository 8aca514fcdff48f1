"""Flow maps computed once are the maps flow_probabilities would compute itself."""

from __future__ import annotations

import numpy as np

from me_emotion.core import architectures
from me_emotion.core.flow import FLOW_CHANNELS
from me_emotion.pipelines.video_analysis.recognition import (
    flow_probabilities,
    interval_flow_maps,
)


class _EchoModel:
    """Returns each sample's mean flow per channel: the maps it was given, summarised."""

    output_shape = (None, len(FLOW_CHANNELS))

    def predict(self, inputs, batch_size, verbose):  # noqa: ARG002 - Keras' signature
        maps = inputs[architectures.FLOW_INPUT]
        return maps.mean(axis=(1, 2))


def test_precomputed_maps_give_the_same_probabilities():
    rng = np.random.default_rng(0)
    onsets = rng.integers(0, 255, (2, 64, 64), dtype=np.uint8)
    apexes = np.roll(onsets, 1, axis=2)  # a one-pixel shift to the right
    training = {"models": {"flow_cnn": {"channels": list(FLOW_CHANNELS)}}}
    features = {"flow": {"method": "farneback", "grid": 8}}
    maps = interval_flow_maps(onsets, apexes, features["flow"])
    direct = flow_probabilities(_EchoModel(), onsets, apexes, training, features)
    shared = flow_probabilities(
        _EchoModel(), onsets, apexes, training, features, maps=maps
    )
    assert maps.shape[0] == 2 and maps.shape[-1] == len(FLOW_CHANNELS)
    np.testing.assert_array_equal(direct, shared)
