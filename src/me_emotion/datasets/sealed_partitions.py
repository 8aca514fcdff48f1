"""A PartitionedDataset that exists only once every partition has been written,
and that rewrites only the partitions whose inputs changed.

A plain ``PartitionedDataset`` "exists" as soon as one partition file does, so
a run interrupted half-way through a lazily-saved stage leaves a folder that
``kedro run --only-missing-outputs`` takes as done, and the next stage would
quietly see only part of the clips. This subclass removes its ``_SEALED``
marker before writing the first partition and writes it (atomically: a
temporary name renamed into place) after the last one. The seal is a JSON
object recording the partition names (and their fingerprints, below),
``{"partitions": ["sub01/EP02_01f", ...], "fingerprints": {...}}``, and both
``exists()`` and ``load()`` compare it with the files actually present: a
folder whose files do not match its seal (partitions deleted or added by
hand, or by a concurrent run) is missing, not done.

Incremental saves: when the saved values carry fingerprints
(``me_emotion.fingerprint.Fingerprinted``), the seal records them, and the
next save leaves every partition whose fingerprint is unchanged (and whose
file is there) as it is, without calling its computation; partitions that
are no longer in the data are deleted. Loaded values carry their recorded
fingerprints, so the next stage can chain them.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
from collections.abc import Callable
from copy import deepcopy
from typing import Any

import fsspec
from kedro.io import DatasetError
from kedro_datasets.partitions import PartitionedDataset

from me_emotion.fingerprint import Fingerprinted, fingerprint_of

SEAL_FILE = "_SEALED"
_LISTED = 5  # partition names quoted in a mismatch message

logger = logging.getLogger(__name__)


class SealedPartitionedDataset(PartitionedDataset):
    """``PartitionedDataset`` with a completion marker and incremental saves.

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
        """The last complete save's record, or None when there is no valid seal."""
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

    def fingerprints(self) -> dict[str, str | None]:
        """``{partition: fingerprint}`` recorded by the last complete save."""
        seal = self.read_seal() or {}
        return dict(seal.get("fingerprints") or {})

    def seal_problem(self) -> str | None:
        """Why the folder is not a complete save, or None when it is."""
        seal = self.read_seal()
        if seal is None:
            return f"no valid {SEAL_FILE} marker (never written, or an interrupted run)"
        sealed = set(seal["partitions"])
        present = set(self._existing_partitions())
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
        seal = self.read_seal()
        if not seal["partitions"]:
            return {}
        recorded = seal.get("fingerprints") or {}
        return {
            key: Fingerprinted(load, recorded.get(key))
            for key, load in super().load().items()
        }

    def save(self, data: dict[str, Any]) -> None:
        previous = self.fingerprints() if self._overwrite else {}
        if self._seal_fs.exists(self._seal_path):
            self._seal_fs.rm(self._seal_path)
        existing = set(self._existing_partitions())
        fingerprints = {key: fingerprint_of(value) for key, value in data.items()}
        unchanged = {
            key
            for key, value in fingerprints.items()
            if value is not None and previous.get(key) == value and key in existing
        }
        if self._overwrite:
            for key in existing - set(data):
                self._filesystem.rm(self._partition_to_path(key))
        to_write = {key: value for key, value in data.items() if key not in unchanged}
        if hasattr(data, "restrict"):
            data.restrict(set(to_write))  # prefetch only what will be written
        if unchanged:
            logger.info(
                "%s: %d of %d partitions unchanged (same inputs and parameters), "
                "%d to compute",
                self._path,
                len(unchanged),
                len(data),
                len(to_write),
            )
        self._write_partitions(to_write)
        self._seal_fs.makedirs(posixpath.dirname(self._seal_path), exist_ok=True)
        temporary = f"{self._seal_path}.{os.getpid()}.tmp"
        with self._seal_fs.open(temporary, "w") as file:
            json.dump({"partitions": sorted(data), "fingerprints": fingerprints}, file)
        self._seal_fs.mv(temporary, self._seal_path)
        self._invalidate_caches()

    def _existing_partitions(self) -> list[str]:
        if not self._filesystem.exists(self._normalized_path):
            return []
        self._invalidate_caches()  # another process may have written since
        return [self._path_to_partition(path) for path in self._list_partitions()]

    def _write_partitions(self, data: dict[str, Any]) -> None:
        """``PartitionedDataset.save``'s loop, without deleting the folder first."""
        for partition_id, partition_data in sorted(data.items()):
            kwargs = deepcopy(self._dataset_config)
            partition = self._partition_to_path(partition_id)
            kwargs[self._filepath_arg] = self._join_protocol(partition)
            dataset = self._dataset_type(**kwargs)  # type: ignore[operator]
            if callable(partition_data) and self._save_lazily:
                partition_data = partition_data()  # noqa: PLW2901
            dataset.save(partition_data)

    def _exists(self) -> bool:
        return self.seal_problem() is None
