"""Fingerprints of what produced each clip's output, for incremental re-runs.

A per-clip stage hands its output dataset ``{partition: Fingerprinted}``: the
lazy computation of the clip plus a short hash of everything it is made from
(its input clip's fingerprint, the stage's parameters, the weights file...).
``SealedPartitionedDataset`` records the fingerprints in its seal and, on the
next save, skips every partition whose fingerprint and file are unchanged:
the computation is never called. Loaded partitions carry their fingerprints,
so the next stage chains them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")

FINGERPRINT_LENGTH = 20  # hex digits (80 bits): collisions are not a concern


def fingerprint(*parts: Any) -> str:
    """A stable hex digest of JSON-serialisable ``parts`` (dict keys sorted)."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_LENGTH]


def file_identity(path: str | Path | None) -> list[Any] | None:
    """``[name, size, mtime_ns]`` of a file, cheap enough for every run."""
    if path is None:
        return None
    stat = Path(path).stat()
    return [Path(path).name, stat.st_size, stat.st_mtime_ns]


class Fingerprinted(Generic[T]):
    """A lazily computed partition and the fingerprint of what it is made from."""

    __slots__ = ("_make", "fingerprint")

    def __init__(self, make: Callable[[], T], fingerprint: str | None):
        self._make = make
        self.fingerprint = fingerprint

    def __call__(self) -> T:
        return self._make()

    def __repr__(self) -> str:
        return f"Fingerprinted({self.fingerprint})"


def fingerprint_of(value: Any) -> str | None:
    """The fingerprint a partition value carries, or None."""
    return getattr(value, "fingerprint", None)
