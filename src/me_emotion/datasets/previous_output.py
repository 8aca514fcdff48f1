"""The last run's copy of an output, read by the node that rewrites it.

Incremental nodes (``embed_face_crops``, ``extract_flow_features``) take
their own previous output as an input and keep the rows of clips whose
fingerprint is unchanged. Kedro forbids a node reading its own output, so
the catalog declares a second, read-only entry on the same file:

.. code-block:: yaml

    "{namespace}.vgg_embeddings_previous":
      type: me_emotion.datasets.PreviousOutputDataset
      dataset:
        type: pandas.ParquetDataset
        filepath: data/04_feature/{namespace}/vgg_embeddings.parquet

It loads None when the file is absent or unreadable (a first run, an older
format), so the node then computes everything.
"""

from __future__ import annotations

import logging
from typing import Any

from kedro.io import AbstractDataset, DatasetError

logger = logging.getLogger(__name__)


class PreviousOutputDataset(AbstractDataset[None, Any]):
    """Read-only view of another dataset that loads None when it is absent.

    Args:
        dataset: the wrapped dataset's catalog definition (``type`` + arguments).
        metadata: free-form metadata (kedro-viz layer).
    """

    # Not an input whose change should re-run the node: the node's own output.
    IGNORED_BY_RUN_STAMPS = True

    def __init__(self, dataset: dict[str, Any], metadata: dict[str, Any] | None = None):
        self._config = dict(dataset)
        self._dataset = AbstractDataset.from_config("previous_output", self._config)
        self.metadata = metadata

    def load(self) -> Any:
        if not self._dataset.exists():
            return None
        try:
            return self._dataset.load()
        except Exception as error:  # noqa: BLE001 - any unreadable cache is recomputed
            logger.warning(
                "Ignoring the previous output %s (%s): everything is recomputed",
                self._config.get("filepath", self._config),
                error,
            )
            return None

    def save(self, data: Any) -> None:
        raise DatasetError(
            "PreviousOutputDataset is read-only: the node's own output entry writes "
            f"{self._config.get('filepath', 'the file')}"
        )

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"dataset": self._config}
