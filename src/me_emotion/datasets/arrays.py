"""A named bundle of numpy arrays as one ``.npz`` file (no pickles)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset

from .npz import npz_bytes


class ArraysDataset(AbstractDataset[dict[str, np.ndarray], dict[str, np.ndarray]]):
    """``.npz`` file <-> ``{name: array}``; strings are stored as unicode arrays.

    Written with fixed zip timestamps, so the same arrays give the same bytes,
    and read with ``allow_pickle=False``.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> dict[str, np.ndarray]:
        with np.load(self._filepath, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}

    def save(self, data: dict[str, np.ndarray]) -> None:
        arrays = {name: np.asarray(value) for name, value in data.items()}
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        self._filepath.write_bytes(npz_bytes(arrays, compress=True))

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
