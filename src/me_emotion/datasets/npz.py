"""Deterministic ``.npz`` bytes: plain arrays, fixed zip timestamps.

The same arrays always give the same bytes, so stored partitions and models
are byte-identical across runs (the incremental runner compares them).
"""

from __future__ import annotations

import io
import zipfile

import numpy as np

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def npz_bytes(arrays: dict[str, np.ndarray], compress: bool) -> bytes:
    """The ``.npz`` archive of ``arrays`` (no pickle), stored or deflated."""
    buffer = io.BytesIO()
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = compression
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()
