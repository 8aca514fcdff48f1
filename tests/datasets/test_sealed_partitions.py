from __future__ import annotations

import numpy as np
import pytest
from kedro.io import DatasetError

from me_emotion.datasets import ClipFrames, SealedPartitionedDataset
from me_emotion.datasets.sealed_partitions import SEAL_FILE
from me_emotion.fingerprint import Fingerprinted
from me_emotion.prefetch import prefetched


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


def _tracked(computed: list[str], values: dict[str, tuple[int, str]]) -> dict:
    """Fingerprinted partitions that record which ones were computed."""

    def make(key: str, value: int):
        def compute():
            computed.append(key)
            return _clip(value)

        return compute

    return {
        key: Fingerprinted(make(key, value), fingerprint)
        for key, (value, fingerprint) in values.items()
    }


def test_saves_skip_unchanged_fingerprints_and_compute_changed_and_new_ones(
    tmp_path,
):
    dataset = _dataset(tmp_path / "crops")
    computed: list[str] = []
    dataset.save(_tracked(computed, {"s/a": (1, "fa"), "s/b": (2, "fb")}))
    assert computed == ["s/a", "s/b"]
    assert dataset.fingerprints() == {"s/a": "fa", "s/b": "fb"}

    computed.clear()
    dataset.save(_tracked(computed, {"s/a": (1, "fa"), "s/b": (2, "fb")}))
    assert computed == []  # unchanged: nothing computed, nothing rewritten

    computed.clear()
    dataset.save(
        _tracked(computed, {"s/a": (1, "fa"), "s/b": (5, "fb2"), "s/c": (3, "fc")})
    )
    assert computed == ["s/b", "s/c"]  # the changed and the new clip only
    loaded = dataset.load()
    assert loaded["s/b"]().frames[0, 0, 0] == 5
    assert loaded["s/b"].fingerprint == "fb2"  # loads carry fingerprints on

    computed.clear()
    dataset.save(_tracked(computed, {"s/a": (1, "fa")}))
    assert computed == [] and sorted(dataset.load()) == ["s/a"]  # b, c deleted
    assert not (tmp_path / "crops" / "s" / "b.npz").exists()


def test_a_missing_file_is_recomputed_even_with_an_unchanged_fingerprint(tmp_path):
    dataset = _dataset(tmp_path / "crops")
    computed: list[str] = []
    dataset.save(_tracked(computed, {"s/a": (1, "fa"), "s/b": (2, "fb")}))
    (tmp_path / "crops" / "s" / "a.npz").unlink()
    computed.clear()
    dataset.save(_tracked(computed, {"s/a": (1, "fa"), "s/b": (2, "fb")}))
    assert computed == ["s/a"]


def test_prefetched_partitions_compute_only_what_the_save_writes(tmp_path):
    dataset = _dataset(tmp_path / "crops")
    computed: list[str] = []
    values = {f"s/{i}": (i, f"f{i}") for i in range(6)}
    dataset.save(prefetched(_tracked(computed, values), workers=2))
    computed.clear()
    dataset.save(
        prefetched(_tracked(computed, {**values, "s/3": (9, "changed")}), workers=2)
    )
    assert computed == ["s/3"]
