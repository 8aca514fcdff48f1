"""An interrupted save never leaves a file or folder that counts as done."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest
from kedro.io import AbstractDataset, DatasetError
from kedro_datasets.pandas import ParquetDataset

from me_emotion.datasets.sealed_partitions import SEAL_FILE
from me_emotion.hooks import make_save_atomic
from tests.datasets.test_sealed_partitions import _clip, _dataset


class HalfWrittenDataset(AbstractDataset):
    """Writes half of its bytes, then is interrupted (like a killed run)."""

    def __init__(self, filepath: str):
        self._filepath = PurePosixPath(filepath)

    def save(self, data: bytes) -> None:
        Path(self._filepath).write_bytes(data[: len(data) // 2])
        raise KeyboardInterrupt

    def load(self) -> bytes:
        return Path(self._filepath).read_bytes()

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict:
        return {"filepath": str(self._filepath)}


def test_interrupted_single_file_save_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "face_boxes.parquet"
    target.write_bytes(b"the complete previous output")
    dataset = HalfWrittenDataset(str(target))
    assert make_save_atomic(dataset)
    with pytest.raises(KeyboardInterrupt):
        dataset.save(b"0123456789" * 100)
    assert target.read_bytes() == b"the complete previous output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face_boxes.parquet"]


def test_interrupted_first_save_leaves_nothing_that_exists(tmp_path):
    dataset = HalfWrittenDataset(str(tmp_path / "face_boxes.parquet"))
    make_save_atomic(dataset)
    with pytest.raises(KeyboardInterrupt):
        dataset.save(b"0123456789" * 100)
    assert not dataset.exists()  # so --only-missing-outputs runs its node again
    assert list(tmp_path.iterdir()) == []


def test_atomic_save_of_a_kedro_dataset_writes_the_same_file(tmp_path):
    import pandas as pd  # noqa: PLC0415

    dataset = ParquetDataset(filepath=str(tmp_path / "sub" / "table.parquet"))
    assert make_save_atomic(dataset) and not make_save_atomic(dataset)  # once
    dataset.save(pd.DataFrame({"a": [1, 2]}))
    assert dataset.load()["a"].tolist() == [1, 2]
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["table.parquet"]


def test_seal_lists_the_partitions(tmp_path):
    dataset = _dataset(tmp_path / "frames")
    dataset.save({"sub01/a": lambda: _clip(1), "sub02/b": lambda: _clip(2)})
    seal = json.loads((tmp_path / "frames" / SEAL_FILE).read_text())
    assert seal["partitions"] == ["sub01/a", "sub02/b"]


def test_seal_over_missing_files_is_missing_not_done(tmp_path):
    """The issue's state: a seal saying 2 partitions over a folder without them."""
    dataset = _dataset(tmp_path / "frames")
    dataset.save({"sub01/a": lambda: _clip(1), "sub02/b": lambda: _clip(2)})
    (tmp_path / "frames/sub02/b.npz").unlink()
    assert not dataset.exists()
    with pytest.raises(DatasetError, match=r"1 sealed partition\(s\) missing.*sub02/b"):
        dataset.load()


def test_partition_outside_the_seal_is_missing_not_done(tmp_path):
    dataset = _dataset(tmp_path / "frames")
    dataset.save({"sub01/a": lambda: _clip(1)})
    _dataset(tmp_path / "other").save({"sub09/z": lambda: _clip(9)})
    (tmp_path / "other/sub09").rename(tmp_path / "frames/sub09")
    assert not dataset.exists()
    with pytest.raises(DatasetError, match="not in the seal"):
        dataset.load()


def test_older_count_only_seal_counts_as_missing(tmp_path):
    dataset = _dataset(tmp_path / "frames")
    dataset.save({"sub01/a": lambda: _clip(1)})
    (tmp_path / "frames" / SEAL_FILE).write_text(json.dumps({"partitions": 1}))
    assert not dataset.exists()


def test_incremental_runner_sees_a_folder_that_does_not_match_its_seal(tmp_path):
    from kedro.io import DataCatalog  # noqa: PLC0415

    from me_emotion.node_signature import dataset_fingerprint  # noqa: PLC0415

    dataset = _dataset(tmp_path / "frames")
    dataset.save({"sub01/a": lambda: _clip(1), "sub02/b": lambda: _clip(2)})
    catalog = DataCatalog({"frames": dataset})
    assert dataset_fingerprint("frames", catalog) not in ("absent", "unknown")
    (tmp_path / "frames/sub02/b.npz").unlink()
    assert dataset_fingerprint("frames", catalog) == "absent"  # the node re-runs
