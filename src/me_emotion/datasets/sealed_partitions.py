"""A PartitionedDataset that exists only once every partition has been written.

A plain ``PartitionedDataset`` "exists" as soon as one partition file does, so
a run interrupted half-way through a lazily-saved stage leaves a folder that
``kedro run --only-missing-outputs`` takes as done, and the next stage would
quietly see only part of the clips. This subclass removes its ``_SEALED``
marker before writing the first partition and writes it (atomically: a
temporary name renamed into place) after the last one. The seal is a JSON
object recording the partition names, ``{"partitions": ["sub01/EP02_01f",
...]}``, and both ``exists()`` and ``load()`` compare it with the files
actually present: a folder whose files do not match its seal (partitions
deleted or added by hand, or by a concurrent run) is missing, not done.
More keys may be added to the object later (e.g. per-partition
fingerprints); readers ignore the ones they do not know.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Callable
from typing import Any

import fsspec
from kedro.io import DatasetError
from kedro_datasets.partitions import PartitionedDataset

SEAL_FILE = "_SEALED"
_LISTED = 5  # partition names quoted in a mismatch message


class SealedPartitionedDataset(PartitionedDataset):
    """``PartitionedDataset`` with a completion marker listing its partitions.

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

    def read_seal(self) -> dict[str, Any] | None:
        """The seal's JSON object, or None when there is no readable seal."""
        if not self._seal_fs.exists(self._seal_path):
            return None
        try:
            with self._seal_fs.open(self._seal_path, "r") as file:
                seal = json.load(file)
        except (OSError, ValueError):
            return None
        if not isinstance(seal, dict) or not isinstance(seal.get("partitions"), list):
            return None  # unreadable, or the older count-only format: redo it
        return seal

    def _present_partitions(self) -> set[str]:
        self._invalidate_caches()  # another process may have written since
        return {self._path_to_partition(path) for path in self._list_partitions()}

    def seal_problem(self) -> str | None:
        """Why the folder is not a complete save, or None when it is."""
        seal = self.read_seal()
        if seal is None:
            return f"no valid {SEAL_FILE} marker (never written, or an interrupted run)"
        sealed = set(seal["partitions"])
        present = (
            self._present_partitions()
            if self._filesystem.exists(self._normalized_path)
            else set()
        )
        missing, extra = sorted(sealed - present), sorted(present - sealed)
        if not missing and not extra:
            return None
        parts = []
        if missing:
            parts.append(
                f"{len(missing)} sealed partition(s) missing, e.g. {missing[:_LISTED]}"
            )
        if extra:
            parts.append(
                f"{len(extra)} partition(s) not in the seal, e.g. {extra[:_LISTED]}"
            )
        return (
            f"its files do not match its {SEAL_FILE} marker ({len(sealed)} partitions): "
            + "; ".join(parts)
            + " (changed by hand, or by another run at the same time?)"
        )

    def load(self) -> dict[str, Callable[[], Any]]:
        problem = self.seal_problem()
        if problem is not None:
            raise DatasetError(
                f"'{self._path}' is missing or was not completely written: {problem}. "
                "Re-run the node that writes it, e.g. kedro run --pipelines=<dataset> "
                "without --only-missing-outputs."
            )
        return {} if not self.read_seal()["partitions"] else super().load()

    def save(self, data: dict[str, Any]) -> None:
        if self._seal_fs.exists(self._seal_path):
            self._seal_fs.rm(self._seal_path)
        super().save(data)
        self._seal_fs.makedirs(posixpath.dirname(self._seal_path), exist_ok=True)
        temporary = f"{self._seal_path}.{os.getpid()}.tmp"
        with self._seal_fs.open(temporary, "w") as file:
            json.dump({"partitions": sorted(data)}, file)
        self._seal_fs.mv(temporary, self._seal_path)

    def _exists(self) -> bool:
        return self.seal_problem() is None
