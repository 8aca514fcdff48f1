"""An OpenCV Haar cascade file as a read-only catalog dataset.

.. code-block:: yaml

    "{namespace}.haar_cascade":
      type: me_emotion.datasets.HaarCascadeDataset
      cascade: haarcascade_frontalface_default.xml  # OpenCV's, or a path

``load()`` returns a ``HaarCascade`` (the XML text and the file's identity),
plain data that pickles to worker processes; nodes build their per-thread
OpenCV classifiers from it with ``HaarCascade.classifier()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from me_emotion.core.haar import HaarCascade, cascade_path
from me_emotion.fingerprint import file_identity, fingerprint


class HaarCascadeDataset(AbstractDataset[None, HaarCascade]):
    """Read-only: a Haar cascade, by file name in ``cv2.data.haarcascades`` or path.

    Args:
        cascade: the cascade's file name or path.
        metadata: free-form metadata (kedro-viz layer).

    Raises (on load):
        FileNotFoundError: no such cascade (the message lists OpenCV's).
        ValueError: the file is not a cascade OpenCV can read.
    """

    def __init__(self, cascade: str, metadata: dict[str, Any] | None = None):
        self._cascade = str(cascade)
        self.metadata = metadata

    def load(self) -> HaarCascade:
        path = cascade_path(self._cascade)
        try:
            xml = Path(path).read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(
                f"Haar cascade file {path} cannot be read as text ({error}); "
                "point cascade: of the haar_cascade catalog entry at an OpenCV "
                "cascade .xml file"
            ) from error
        cascade = HaarCascade(self._cascade, xml, file_identity(path))
        cascade.classifier()  # fail here, naming the file, rather than in a node
        return cascade

    def save(self, data: HaarCascade) -> None:
        raise DatasetError(
            "haar_cascade is read-only: choose the cascade with cascade: in its "
            "catalog entry"
        )

    def _exists(self) -> bool:
        try:
            cascade_path(self._cascade)
        except FileNotFoundError:
            return False
        return True

    def run_stamp(self) -> str:
        """The cascade's name and file identity (``IncrementalRunner``)."""
        return fingerprint(self._cascade, file_identity(cascade_path(self._cascade)))

    def _describe(self) -> dict[str, Any]:
        return {"cascade": self._cascade}
