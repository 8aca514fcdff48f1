"""A PartitionedDataset that exists only once every partition has been written.

A plain ``PartitionedDataset`` "exists" as soon as one partition file does, so
a run interrupted half-way through a lazily-saved stage leaves a folder that
``kedro run --only-missing-outputs`` takes as done, and the next stage would
quietly see only part of the clips. This subclass writes a ``_SEALED`` marker
after the last partition and removes it before writing the first: ``exists()``
means "completely written", and loading an unsealed folder is an error.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable
from typing import Any

import fsspec
from kedro.io import DatasetError
from kedro_datasets.partitions import PartitionedDataset

SEAL_FILE = "_SEALED"


class SealedPartitionedDataset(PartitionedDataset):
    """``PartitionedDataset`` with a completion marker.

    Same arguments as ``partitions.PartitionedDataset``; ``filename_suffix`` is
    required, so the marker file is never listed as a partition.
    """

    def __init__(
        self, path: str, dataset: Any, filename_suffix: str = "", **kwargs: Any
    ):
        if not filename_suffix:
            raise DatasetError(
                f"SealedPartitionedDataset('{path}') needs a filename_suffix (e.g. "
                f".npz) so that its {SEAL_FILE} marker is not read as a partition"
            )
        super().__init__(
            path=path, dataset=dataset, filename_suffix=filename_suffix, **kwargs
        )
        self._seal_fs, self._seal_path = fsspec.core.url_to_fs(
            f"{path.rstrip('/')}/{SEAL_FILE}", **kwargs.get("fs_args", None) or {}
        )

    def _sealed_count(self) -> int | None:
        """Partitions recorded by the last complete save, or None if unsealed."""
        if not self._seal_fs.exists(self._seal_path):
            return None
        with self._seal_fs.open(self._seal_path, "r") as file:
            return int(json.load(file)["partitions"])

    def load(self) -> dict[str, Callable[[], Any]]:
        count = self._sealed_count()
        if count is None:
            raise DatasetError(
                f"'{self._path}' is missing or was not completely written (no "
                f"{SEAL_FILE} marker: an interrupted run?). Re-run the node that "
                "writes it, e.g. kedro run --pipelines=<dataset> without "
                "--only-missing-outputs."
            )
        return {} if count == 0 else super().load()

    def save(self, data: dict[str, Any]) -> None:
        if self._seal_fs.exists(self._seal_path):
            self._seal_fs.rm(self._seal_path)
        super().save(data)
        self._seal_fs.makedirs(posixpath.dirname(self._seal_path), exist_ok=True)
        with self._seal_fs.open(self._seal_path, "w") as file:
            json.dump({"partitions": len(data)}, file)

    def _exists(self) -> bool:
        return self._sealed_count() is not None
