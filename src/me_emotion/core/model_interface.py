"""The names a Keras model and the code feeding or reading it agree on.

Input names (the keys of the ``x`` dict), the output every consumer reads and
the fusion layer's name. Kept apart from :mod:`me_emotion.core.architectures`
so that what only names a tensor does not import Keras: the pipeline
registry, and with it every ``kedro run`` and ``me-emotion-video``, starts
without loading TensorFlow, which the nodes that build or run a model import
when they run.
"""

from __future__ import annotations

IMAGE_INPUT = "image"
EMBEDDING_INPUT = "embedding"
FLOW_INPUT = "flow"
# clip level, relative to the clip's own onset frame (identity-normalised)
IMAGE_DELTA_INPUT = "image_delta"  # apex face image minus onset face image
EMBEDDING_DELTA_INPUT = "embedding_delta"  # VGG-16(apex crop) - VGG-16(onset crop)
ONSET_BRANCHES = (IMAGE_DELTA_INPUT, EMBEDDING_DELTA_INPUT, FLOW_INPUT)
PROBABILITIES = "probabilities"  # the output every consumer reads
FUSION_LAYER = "fusion"  # onset HybridMicroNet: the heads' weighted mean
