"""One clip's frame stack with the frame numbers it came from, as an ``.npz`` file.

The partition type of ``{namespace}.sampled_frames`` (grayscale frames at the
release's resolution) and ``{namespace}.face_crops`` (256x256 CLAHE crops).
The archive holds plain arrays only (``allow_pickle=False``) and is written
with fixed zip timestamps, so the same clip always gives the same bytes.

Loading memory-maps the (uncompressed) frame stack instead of copying it:
face detection usually looks at one frame of a clip and cropping at one
region of each, so only those pages are read from disk.
"""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset, DatasetError

from me_emotion.core.clip_frames import ClipFrames

from .npz import npz_bytes

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., name and extra lengths


def _memory_mapped(path: Path, archive: zipfile.ZipFile, member: str) -> np.ndarray:
    """A stored (uncompressed) ``.npy`` member of a zip, memory-mapped read-only."""
    info = archive.getinfo(member)
    if info.compress_type != zipfile.ZIP_STORED:
        with archive.open(info) as file:
            return np.lib.format.read_array(file, allow_pickle=False)
    with path.open("rb") as file:
        file.seek(info.header_offset)
        signature, name_length, extra_length = _LOCAL_HEADER.unpack(
            file.read(_LOCAL_HEADER.size)
        )
        if signature != b"PK\x03\x04":
            raise ValueError(f"no zip entry for {member} at its recorded offset")
        file.seek(name_length + extra_length, os.SEEK_CUR)
        version = np.lib.format.read_magic(file)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran_order, dtype = read_header(file)
        offset = file.tell()
    if not shape or 0 in shape:  # nothing to map
        return np.zeros(shape, dtype=dtype)
    order = "F" if fortran_order else "C"
    return np.memmap(path, dtype, mode="r", offset=offset, shape=shape, order=order)


class ClipFramesDataset(AbstractDataset[ClipFrames, ClipFrames]):
    """``.npz`` file <-> :class:`ClipFrames`.

    Example catalog entry (as the partition type of a ``PartitionedDataset``)::

        "{namespace}.face_crops":
          type: me_emotion.datasets.SealedPartitionedDataset
          path: data/03_primary/{namespace}/face_crops
          dataset: me_emotion.datasets.ClipFramesDataset
          filename_suffix: .npz

    Args:
        filepath: ``.npz`` path.
        save_args: ``compress`` (default False: the frames are noisy images that
            deflate poorly, and only stored frames can be memory-mapped).
    """

    def __init__(
        self,
        filepath: str,
        save_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        self._filepath = Path(filepath)
        self._compress = bool((save_args or {}).get("compress", False))
        self.metadata = metadata

    def load(self) -> ClipFrames:
        try:
            with np.load(self._filepath, allow_pickle=False) as archive:
                arrays = {n: archive[n] for n in archive.files if n != "frames"}
                frames = _memory_mapped(self._filepath, archive.zip, "frames.npy")
            box = arrays.get("crop_box")
            return ClipFrames(
                frames=frames,
                frame_numbers=arrays["frame_numbers"].astype(np.int64),
                onset=int(arrays["onset"]),
                apex=int(arrays["apex"]),
                offset=int(arrays["offset"]),
                crop_box=None if box is None else tuple(int(v) for v in box),
            )
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
            raise DatasetError(
                f"Cannot read clip frames '{self._filepath}': {error}. Delete the "
                "file and re-run the pipeline that writes it."
            ) from error

    def save(self, data: ClipFrames) -> None:
        if not isinstance(data, ClipFrames):
            raise DatasetError(
                f"ClipFramesDataset('{self._filepath}') saves ClipFrames, got {type(data)}"
            )
        arrays = {
            "frames": data.frames,
            "frame_numbers": data.frame_numbers.astype(np.int64),
            "onset": np.int64(data.onset),
            "apex": np.int64(data.apex),
            "offset": np.int64(data.offset),
        }
        if data.crop_box is not None:
            arrays["crop_box"] = np.asarray(data.crop_box, dtype=np.int64)
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        # Not atomic: SealedPartitionedDataset marks a folder left half-written.
        self._filepath.write_bytes(npz_bytes(arrays, self._compress))

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "compress": self._compress}
