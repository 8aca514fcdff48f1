from __future__ import annotations

import pickle

import numpy as np
import pytest
from kedro.io import DatasetError

from me_emotion.core import vgg16
from me_emotion.core.vgg16 import RANDOM_WEIGHTS, build_vgg16
from me_emotion.datasets import Vgg16WeightsDataset
from tests.core.test_vgg16 import write_legacy_h5


@pytest.mark.parametrize("spec", [None, "null", "none", "random"])
def test_no_weights_file_gives_random_weights(spec):
    weights = Vgg16WeightsDataset(weights=spec).load()
    assert weights.is_random and weights.identity is None
    assert weights.label == "random (untrained)"


def test_a_weights_file_loads_its_arrays_and_identity(tmp_path):
    model, _ = build_vgg16(RANDOM_WEIGHTS, "float32", image_size=32, seed=11)
    path = tmp_path / "vgg16_notop.h5"
    write_legacy_h5(model, path)
    dataset = Vgg16WeightsDataset(weights=str(path))
    assert dataset.exists()
    weights = dataset.load()
    assert weights.label == "file vgg16_notop.h5"
    assert weights.identity == [path.name, path.stat().st_size, path.stat().st_mtime_ns]
    assert len(weights.arrays) == 26
    for mine, theirs in zip(model.get_weights(), weights.arrays):
        assert np.array_equal(mine, theirs)
    # plain data: it crosses to worker processes
    assert pickle.loads(pickle.dumps(weights)).identity == weights.identity


def test_a_rewritten_weights_file_changes_the_identity(tmp_path):
    model, _ = build_vgg16(RANDOM_WEIGHTS, "float32", image_size=32, seed=12)
    path = tmp_path / "w.h5"
    write_legacy_h5(model, path)
    dataset = Vgg16WeightsDataset(weights=str(path))
    first, first_stamp = dataset.load().identity, dataset.run_stamp()
    assert dataset.run_stamp() == first_stamp  # IncrementalRunner: unchanged
    path.write_bytes(path.read_bytes() + b"\0" * 16)  # same name, new content
    second = Vgg16WeightsDataset(weights=str(path)).load().identity
    assert first != second
    assert dataset.run_stamp() != first_stamp


def test_a_missing_file_is_named_with_the_fix(tmp_path):
    missing = tmp_path / "nope.h5"
    dataset = Vgg16WeightsDataset(weights=str(missing))
    assert not dataset.exists()
    with pytest.raises(DatasetError) as error:  # Kedro wraps load errors
        dataset.load()
    message = str(error.value)
    assert str(missing) in message and "conf/local/globals.yml" in message


def test_missing_imagenet_file_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setattr(vgg16, "keras_cache_dir", lambda: tmp_path)
    with pytest.raises(DatasetError, match=vgg16.IMAGENET_NOTOP_FILE):
        Vgg16WeightsDataset(weights="imagenet").load()


def test_weights_are_read_only():
    with pytest.raises(DatasetError, match="read-only"):
        Vgg16WeightsDataset(weights=None).save(RANDOM_WEIGHTS)
