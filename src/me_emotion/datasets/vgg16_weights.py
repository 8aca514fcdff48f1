"""VGG-16 notop weights as a read-only catalog dataset, so nodes receive arrays.

.. code-block:: yaml

    "{namespace}.vgg16_weights":
      type: me_emotion.datasets.Vgg16WeightsDataset
      weights: ${runtime_params:vgg16_weights,${globals:vgg16_weights}}

``weights`` is ``imagenet``, ``hed``, a path to a ``.h5`` file or null
(random weights, tests only); see ``me_emotion.core.vgg16``. ``load()``
returns a ``Vgg16Weights``: the arrays, a label for results and the file's
identity (name, size, mtime) that fingerprints the embeddings.
"""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset, DatasetError

from me_emotion.core.vgg16 import Vgg16Weights, load_vgg16_weights, resolve_weights
from me_emotion.fingerprint import file_identity, fingerprint


class Vgg16WeightsDataset(AbstractDataset[None, Vgg16Weights]):
    """Read-only: the VGG-16 weights a ``vgg16_weights`` value names.

    Args:
        weights: ``imagenet`` | ``hed`` | ``/path/to/file.h5`` | null.
        metadata: free-form metadata (kedro-viz layer).

    Raises (on load):
        FileNotFoundError / ValueError: the file is absent or unreadable; the
            message names it and the setting to change.
    """

    def __init__(
        self, weights: str | None = None, metadata: dict[str, Any] | None = None
    ):
        self._weights = None if weights is None else str(weights)
        self.metadata = metadata

    def load(self) -> Vgg16Weights:
        return load_vgg16_weights(self._weights)

    def save(self, data: Vgg16Weights) -> None:
        raise DatasetError(
            "vgg16_weights is read-only: set which weights to use with "
            "vgg16_weights in conf/local/globals.yml or --params vgg16_weights=..."
        )

    def _exists(self) -> bool:
        try:
            resolve_weights(self._weights)
        except (FileNotFoundError, ValueError):
            return False
        return True

    def run_stamp(self) -> str:
        """What the weights are, without reading them: the value and the file's
        identity (``IncrementalRunner`` re-runs the node when they change)."""
        _, path = resolve_weights(self._weights)
        return fingerprint(self._weights, file_identity(path))

    def _describe(self) -> dict[str, Any]:
        return {"weights": self._weights}
