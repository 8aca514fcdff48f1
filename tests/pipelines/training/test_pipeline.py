"""The training pipelines: wiring, catalog entries, and tiny end-to-end runs."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from me_emotion.pipelines.training import create_composite_pipeline, create_pipeline
from me_emotion.pipelines.training.registry import MODELS
from tests.conftest import PROJECT_ROOT, run_pipeline

from .conftest import TINY_MODELS

TINY_FEATURES = {
    "image": {"size": 32, "border_px": 1},
    "flow": {"method": "farneback", "grid": 8},
}
TINY_TRAINING = {"image": {"size": 32, "border_px": 1}, "models": TINY_MODELS}


@pytest.fixture(scope="module")
def context() -> Iterator:
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT) as session:
        yield session.load_context()


@pytest.mark.parametrize("name", ["casme2", "samm", "composite"])
def test_every_training_dataset_is_declared(context, name):
    catalog = context.catalog  # built anew on each access: once is enough
    datasets = pipelines[name].datasets()
    undeclared = sorted(
        d for d in datasets if not d.startswith("params:") and d not in catalog
    )
    assert not undeclared


def test_models_are_saved_with_the_right_dataset_types(context):
    catalog = context.catalog
    assert (
        type(catalog.get("casme2.keras_model_hybrid_micronet")).__name__
        == "TensorFlowModelDataset"
    )
    assert (
        type(catalog.get("samm.sklearn_model_svm")).__name__ == "SafeEstimatorDataset"
    )
    assert (
        type(catalog.get("composite.model_inputs_casme2")).__name__ == "ArraysDataset"
    )


def test_one_node_per_model_and_the_composite_joins_both_datasets():
    nodes = {n.name for n in create_pipeline().nodes}
    assert {f"train_{m}" for m in MODELS} <= nodes
    composite = create_composite_pipeline(("casme2", "samm"))
    assert {
        "casme2.vgg_embeddings",
        "samm.vgg_embeddings",
        "casme2.flow_features",
    } <= composite.inputs()
    assert "params:composite.training" in composite.inputs()
    assert {
        "composite.metrics",
        "composite.keras_model_hybrid_micronet",
    } <= composite.outputs()


def test_composite_parameters_map_to_three_classes(context):
    block = context.params["composite"]["training"]
    assert block["classes"] == ["negative", "positive", "surprise"]
    assert set(block["class_map"].values()) == {"negative", "positive", "surprise"}
    assert "composite" in block["protocols"]
    assert (
        context.params["samm"]["training"]["models"]
        == context.params["casme2"]["training"]["models"]
    )


def _check_outputs(project, namespace: str, protocols: set[str]) -> pd.DataFrame:
    metrics = pd.read_csv(project / f"data/08_reporting/{namespace}/metrics.csv")
    expected = {
        (m, p, level)
        for m in MODELS
        for p in protocols
        for level in ("frame", "clip")
        if not (m == "flow_cnn" and level == "frame")  # one flow map per clip
    }
    assert set(zip(metrics["model"], metrics["protocol"], metrics["level"])) == expected
    assert (metrics["data_source"] == "synthetic").all()
    assert (metrics["embedding_weights"] == "random (untrained)").all()
    assert metrics[["accuracy", "uf1", "uar", "chance_uar"]].notna().all().all()
    predictions = pd.read_parquet(
        project / f"data/07_model_output/{namespace}/predictions.parquet"
    )
    assert set(predictions["protocol"]) == protocols
    confusion = pd.read_csv(
        project / f"data/08_reporting/{namespace}/confusion_matrices.csv"
    )
    assert confusion["count"].sum() == len(predictions)
    models = project / f"data/06_models/{namespace}"
    for model in MODELS:
        assert list(models.glob(f"{model}.*")), model
    return metrics


@pytest.mark.integration
def test_tiny_runs_of_casme2_samm_and_composite(tiny_project):
    training = {**TINY_TRAINING, "protocols": ["paper_random_split", "loso"]}
    params = {
        "vgg16_weights": None,  # overrides ${globals:vgg16_weights}: random weights
        "casme2": {
            "feature_extraction": TINY_FEATURES,
            "training": copy.deepcopy(training),
        },
        "samm": {
            "feature_extraction": TINY_FEATURES,
            "training": copy.deepcopy(training),
        },
        "composite": {"training": copy.deepcopy(TINY_TRAINING)},
    }
    run_pipeline(tiny_project, "__default__", extra_params=params)
    embeddings = pd.read_parquet(
        tiny_project / "data/04_feature/casme2/vgg_embeddings.parquet"
    )
    assert set(embeddings["weights"]) == {
        "random (untrained)"
    }  # the null override works
    for namespace in ("casme2", "samm"):
        _check_outputs(tiny_project, namespace, {"paper_random_split", "loso"})
        # the tiny set has every class in two subjects: no LOSO fold lacks one
        gaps = pd.read_csv(
            tiny_project / f"data/05_model_input/{namespace}/fold_class_gaps.csv"
        )
        assert gaps[gaps["protocol"] == "loso"].empty, gaps

    run_pipeline(tiny_project, "composite", extra_params=params)
    metrics = _check_outputs(
        tiny_project, "composite", {"paper_random_split", "composite"}
    )
    assert (metrics["n_classes"] == 3).all()
    predictions = pd.read_parquet(
        tiny_project / "data/07_model_output/composite/predictions.parquet"
    )
    assert set(predictions["dataset"]) == {"casme2", "samm"}
    assert predictions["subject"].str.match(r"^(casme2|samm)/").all()

    # the saved all-subjects models load and predict
    bootstrap_project(tiny_project)
    with KedroSession.create(
        project_path=tiny_project, runtime_params=params
    ) as session:
        catalog = session.load_context().catalog
        model = catalog.load("composite.keras_model_flow_cnn")
        inputs = catalog.load("composite.model_inputs")
        probabilities = model.predict({"flow": inputs["flow"][:2, ..., :2]}, verbose=0)
        assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
        svm = catalog.load("casme2.sklearn_model_svm")
        assert svm.predict(
            catalog.load("casme2.model_inputs")["embeddings"][:3]
        ).shape == (3,)
