from __future__ import annotations

import numpy as np
import pytest
from kedro.io import DatasetError

from me_emotion.datasets import ClipFrames, SealedPartitionedDataset
from me_emotion.datasets.sealed_partitions import SEAL_FILE


def _dataset(path) -> SealedPartitionedDataset:
    return SealedPartitionedDataset(
        path=str(path),
        dataset="me_emotion.datasets.ClipFramesDataset",
        filename_suffix=".npz",
        overwrite=True,
    )


def _clip(value: int) -> ClipFrames:
    return ClipFrames(
        np.full((1, 2, 2), value, np.uint8), np.array([value]), value, value, value
    )


def test_exists_only_after_every_partition_is_written(tmp_path):
    dataset = _dataset(tmp_path / "crops")
    assert not dataset.exists()
    dataset.save({"sub01/a": lambda: _clip(1), "sub02/b": lambda: _clip(2)})
    assert dataset.exists()
    assert (tmp_path / "crops" / SEAL_FILE).is_file()
    loaded = dataset.load()
    assert sorted(loaded) == ["sub01/a", "sub02/b"]  # the marker is no partition
    assert loaded["sub02/b"]().frames[0, 0, 0] == 2


def test_interrupted_save_leaves_an_unsealed_folder_that_does_not_exist(tmp_path):
    dataset = _dataset(tmp_path / "crops")
    dataset.save({"a": lambda: _clip(1)})

    def interrupted() -> ClipFrames:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        dataset.save({"a": lambda: _clip(1), "b": interrupted})
    assert not dataset.exists()  # so --only-missing-outputs re-runs its node
    with pytest.raises(DatasetError, match="not completely written"):
        dataset.load()


def test_sealed_empty_folder_loads_as_no_partitions(tmp_path):
    dataset = _dataset(tmp_path / "crops")
    dataset.save({})
    assert dataset.exists()
    assert dataset.load() == {}


def test_suffix_is_required():
    with pytest.raises(DatasetError, match="needs a filename_suffix"):
        SealedPartitionedDataset(
            path="x", dataset="me_emotion.datasets.ClipFramesDataset"
        )
