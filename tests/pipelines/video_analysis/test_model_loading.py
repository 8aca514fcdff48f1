"""The video stage loads only the model it chose per namespace, once.

``video.recognition_models`` hands out loaders; the command checks only the
files the run will read (``video_cli.required_datasets``).
"""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from me_emotion import video_cli
from me_emotion.datasets import KerasModelLoadersDataset
from tests.pipelines.video_analysis.models import write_tiny_models


class FakeCatalog:
    """``exists`` / ``load`` of a few tables by name."""

    def __init__(self, tables: dict[str, pd.DataFrame]):
        self.tables = tables

    def exists(self, name: str) -> bool:
        return name in self.tables

    def load(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def _tables(uf1: dict[str, dict[str, float]]) -> dict[str, pd.DataFrame]:
    tables = {}
    for namespace, values in uf1.items():
        rows = [
            {"protocol": "loso", "model": m, "level": "clip", "uf1": v}
            for m, v in values.items()
        ]
        tables[f"{namespace}.metrics"] = pd.DataFrame(rows).assign(chance_uf1=0.2)
        tables[f"{namespace}.bootstrap_intervals"] = pd.DataFrame(rows).assign(
            uf1_low=0.0, uf1_high=1.0, confidence=0.95
        )
    return tables


def test_required_datasets_name_only_the_chosen_model_per_namespace():
    catalog = FakeCatalog(
        _tables(
            {
                "casme2": {"hybrid_micronet": 0.2, "flow_cnn": 0.6},
                "samm": {"hybrid_micronet": 0.5, "flow_cnn": 0.3},
            }
        )
    )
    names = video_cli.required_datasets(catalog, "auto")
    models = [n for n in names if ".keras_model_" in n]
    assert models == ["casme2.keras_model_flow_cnn", "samm.keras_model_hybrid_micronet"]
    for namespace in ("casme2", "samm"):
        for table in ("data_source", "metrics", "bootstrap_intervals"):
            assert f"{namespace}.{table}" in names
    explicit = video_cli.required_datasets(catalog, "flow_cnn")
    assert [n for n in explicit if ".keras_model_" in n] == [
        "casme2.keras_model_flow_cnn",
        "samm.keras_model_flow_cnn",
    ]
    # no metrics yet: every model auto could pick is needed
    bare = video_cli.required_datasets(FakeCatalog({}), "auto")
    assert len([n for n in bare if ".keras_model_" in n]) == 4


@pytest.mark.integration
def test_loaders_read_nothing_until_called_then_once(tmp_path):
    write_tiny_models(tmp_path)
    dataset = KerasModelLoadersDataset(
        filepath=str(tmp_path / "data" / "06_models" / "{namespace}" / "{model}.keras"),
        namespaces=["casme2", "samm"],
        models=["hybrid_micronet", "flow_cnn"],
    )
    loaders = dataset.load()
    assert sorted(loaders) == ["casme2", "samm"]
    assert all(loader._model is None for m in loaders.values() for loader in m.values())  # noqa: SLF001
    model = loaders["casme2"]["flow_cnn"]()
    assert loaders["casme2"]["flow_cnn"]() is model  # loaded once
    assert loaders["samm"]["hybrid_micronet"]._model is None  # noqa: SLF001
    assert "keras" in sys.modules
    assert dataset.exists()
    missing = KerasModelLoadersDataset(
        filepath=str(tmp_path / "nowhere" / "{namespace}" / "{model}.keras"),
        namespaces=["casme2"],
        models=["flow_cnn"],
    )
    with pytest.raises(FileNotFoundError, match="kedro run --pipelines=casme2"):
        missing.load()["casme2"]["flow_cnn"]()


class FakeLoader:
    def __init__(self, present: bool):
        self.present = present

    def exists(self) -> bool:
        return self.present

    def __call__(self):
        raise AssertionError("checking for a model must not load it")


def test_missing_datasets_checks_models_through_their_loaders():
    tables = _tables(
        {
            "casme2": {"hybrid_micronet": 0.2, "flow_cnn": 0.6},
            "samm": {"hybrid_micronet": 0.5, "flow_cnn": 0.3},
        }
    )
    tables["casme2.data_source"] = tables["samm.data_source"] = pd.DataFrame()
    del tables["samm.bootstrap_intervals"]  # samm's choice is then unknown: both models
    loaders = {
        "casme2": {"hybrid_micronet": FakeLoader(False), "flow_cnn": FakeLoader(True)},
        "samm": {"hybrid_micronet": FakeLoader(True), "flow_cnn": FakeLoader(False)},
    }
    catalog = FakeCatalog({**tables, video_cli.MODEL_LOADERS: loaders})
    # casme2 auto-picks flow_cnn (present), not its missing hybrid_micronet
    assert video_cli.missing_datasets(catalog, "auto") == [
        "samm.bootstrap_intervals",
        "samm.keras_model_flow_cnn",
    ]
    assert video_cli.missing_datasets(catalog, "hybrid_micronet") == [
        "casme2.keras_model_hybrid_micronet",
        "samm.bootstrap_intervals",
    ]
