"""The model registry: adding a model is a registry entry, a builder and a parameter block."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import ParquetDataset
from sklearn.naive_bayes import GaussianNB

from me_emotion.datasets import estimator_store
from me_emotion.parameters import NUMBER, ParameterError, validate_parameters
from me_emotion.pipelines.training.pipeline import create_pipeline, evaluation_pipeline
from me_emotion.pipelines.training.registry import MODELS, ModelSpec, model_dataset

from .conftest import RUN_ENVIRONMENT, parameter_feed


def gaussian_bayes(options: dict, class_weight: str | None, seed: int) -> GaussianNB:
    """The toy model's builder: a function of its parameter block."""
    return GaussianNB(var_smoothing=float(options["var_smoothing"]))


TOY = ModelSpec(
    "sklearn", "frame", ("embedding",), gaussian_bayes, {"var_smoothing": NUMBER}
)


@pytest.fixture
def toy_registry(monkeypatch):
    """The registry with the toy model added and the networks left out (speed)."""
    monkeypatch.setitem(MODELS, "gaussian_bayes", TOY)
    for name in [n for n, spec in MODELS.items() if spec.family == "keras"]:
        monkeypatch.delitem(MODELS, name)
    return MODELS


def test_a_model_registered_at_test_time_is_validated_wired_and_evaluated(
    toy_registry, inputs, params, tmp_path
):
    # its parameter block: the third and last place a new model touches
    block = copy.deepcopy(params)
    block["models"] = {name: block["models"].get(name) for name in toy_registry}
    block["models"]["gaussian_bayes"] = {"var_smoothing": 1e-6}
    assert validate_parameters({"casme2": {"training": block}}) == []

    nodes = {node.name for node in create_pipeline().nodes}
    assert "train_gaussian_bayes" in nodes
    assert model_dataset("gaussian_bayes") == "sklearn_model_gaussian_bayes"

    pipeline = evaluation_pipeline()
    catalog = DataCatalog()
    for name, value in parameter_feed("training", block).items():
        catalog[name] = value
    catalog["model_inputs"] = inputs.to_arrays()
    catalog["run_environment"] = RUN_ENVIRONMENT
    # as the catalog's factory stores it (a memory dataset is freed once read)
    catalog["predictions_gaussian_bayes"] = ParquetDataset(
        filepath=str(tmp_path / "predictions_gaussian_bayes.parquet")
    )
    SequentialRunner().run(pipeline, catalog)

    predictions = catalog.load("predictions_gaussian_bayes")
    assert set(predictions["model"]) == {"gaussian_bayes"}
    assert set(predictions["protocol"]) == {"paper_random_split", "loso"}
    metrics = catalog.load("metrics")
    toy = metrics[metrics["model"] == "gaussian_bayes"]
    assert set(zip(toy["protocol"], toy["level"])) == {
        (p, level)
        for p in ("paper_random_split", "loso")
        for level in ("frame", "clip")
    }
    assert (toy["uf1"] > 0.5).all()  # the fake embeddings carry the class
    final = catalog.load("sklearn_model_gaussian_bayes")
    assert isinstance(final, GaussianNB) and final.var_smoothing == 1e-6
    assert final.class_count_.sum() == len(inputs.sample_clip)  # every subject
    # the catalog's estimator store keeps it without pickle
    restored = estimator_store.loads(estimator_store.dumps(final))
    x = inputs.embeddings[:5]
    assert np.allclose(restored.predict_proba(x), final.predict_proba(x))


def test_a_registered_model_without_its_parameter_block_stops_the_run(
    toy_registry, params
):
    block = copy.deepcopy(params)
    block["models"] = {name: block["models"].get(name) for name in toy_registry}
    del block["models"]["gaussian_bayes"]
    with pytest.raises(ParameterError, match=r"missing key\(s\) \['gaussian_bayes'\]"):
        validate_parameters({"casme2": {"training": block}})
    block["models"]["gaussian_bayes"] = {"var_smothing": 1e-6}
    with pytest.raises(ParameterError, match="gaussian_bayes.*'var_smothing'"):
        validate_parameters({"casme2": {"training": block}})


def test_registry_entries_are_checked():
    with pytest.raises(ValueError, match="family"):
        ModelSpec("torch", "frame", ("embedding",), gaussian_bayes, {})
    with pytest.raises(ValueError, match="inputs"):
        ModelSpec("sklearn", "frame", ("landmarks",), gaussian_bayes, {})
    with pytest.raises(ValueError, match="per-frame"):
        ModelSpec("sklearn", "clip", ("embedding",), gaussian_bayes, {})
    with pytest.raises(ValueError, match="optimizer"):
        ModelSpec("keras", "frame", ("embedding",), gaussian_bayes, {})
