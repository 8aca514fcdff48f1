"""The composite list dataset: optional, header-less, every cell a string."""

from __future__ import annotations

import pytest
from kedro.io import DatasetError

from me_emotion.datasets import CompositeListDataset
from tests.core.test_composite import LIST_FILE


def test_list_dataset_null_missing_and_malformed(tmp_path):
    assert CompositeListDataset(None).load() is None
    with pytest.raises(DatasetError, match="composite_list_file"):
        CompositeListDataset(str(tmp_path / "absent.csv")).load()
    bad = tmp_path / "bad.csv"
    bad.write_text("casme2,sub01,EP02_01f\n")
    with pytest.raises(DatasetError, match="3 columns"):
        CompositeListDataset(str(bad)).load()
    table = CompositeListDataset(str(LIST_FILE)).load()
    assert table.loc[4, "subject"] == "6" and table.loc[0, "label"] == "0"
