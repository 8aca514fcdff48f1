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
from tests.conftest import PROJECT_ROOT, TRAINED, run_pipeline


@pytest.fixture(scope="module")
def context() -> Iterator:
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT) as session:
        yield session.load_context()


@pytest.mark.integration
@pytest.mark.parametrize("name", ["casme2", "samm", "composite"])
def test_every_training_dataset_is_declared(context, name):
    catalog = context.catalog  # built anew on each access: once is enough
    datasets = pipelines[name].datasets()
    undeclared = sorted(
        d for d in datasets if not d.startswith("params:") and d not in catalog
    )
    assert not undeclared


@pytest.mark.integration
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


@pytest.mark.integration
def test_composite_parameters_map_to_three_classes(context):
    block = context.params["composite"]["training"]
    assert block["classes"] == ["negative", "positive", "surprise"]
    assert block["class_map"] is None  # labels come from composite.clip_labels
    maps = context.params["composite"]["labels"]["class_maps"]
    assert set(maps) == {"casme2", "samm"}
    for mapping in maps.values():
        assert set(mapping.values()) == {"negative", "positive", "surprise"}
    assert {"composite", "cross_dataset"} <= set(block["protocols"])
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
        # clip-level models (one flow map / onset-apex pair per clip) have no frame rows
        if not (MODELS[m].level == "clip" and level == "frame")
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


def _check_composite_tables(project) -> None:
    """Class-map labels, 3-class counts, per-dataset figures, both transfer directions."""
    reporting = project / "data/08_reporting/composite"
    labels = pd.read_csv(
        project / "data/05_model_input/composite/clip_labels.csv", dtype=str
    )
    assert set(labels["source"]) == {"class_map"}
    samm = pd.read_parquet(project / "data/02_intermediate/samm/clip_index.parquet")
    negatives = samm[samm["emotion"].str.lower().isin(["disgust", "fear", "sadness"])]
    assert len(negatives)  # the tiny SAMM release has them: they reach the composite
    samm_labels = labels[labels["dataset"] == "samm"]
    assert set(negatives["clip"]) <= set(
        samm_labels.loc[samm_labels["label"] == "negative", "clip"]
    )
    inputs = np.load(project / "data/05_model_input/composite/model_inputs.npz")
    assert sorted(inputs["clip_name"].tolist()) == sorted(labels["clip"])
    counts = pd.read_csv(reporting / "class_counts.csv").set_index("dataset")
    assert counts.loc["all", "clips"] == len(labels)
    assert counts.loc["samm", "negative"] == (samm_labels["label"] == "negative").sum()
    figures = pd.read_csv(reporting / "figures_by_dataset.csv")
    assert set(
        zip(figures["protocol"], figures["train_dataset"], figures["test_dataset"])
    ) == {
        ("composite", "all", "casme2"),
        ("composite", "all", "samm"),
        ("cross_dataset", "casme2", "samm"),
        ("cross_dataset", "samm", "casme2"),
    }
    assert figures[["uf1", "uar"]].notna().all().all()


def _check_a_list_decides_the_composite(project, params) -> None:
    """With a list file, membership follows it exactly, down to the model inputs."""
    index = {
        d: pd.read_parquet(project / f"data/02_intermediate/{d}/clip_index.parquet")
        for d in ("casme2", "samm")
    }
    casme2, samm = index["casme2"], index["samm"]
    fear = casme2[casme2["emotion"] == "fear"].iloc[0]  # in no class set or map
    other = samm[samm["emotion"].str.lower() == "other"].iloc[0]
    casme2_rest = casme2[casme2["emotion"] != "fear"][["subject", "clip"]].values
    samm_rest = samm[samm["emotion"].str.lower() != "other"][["subject", "clip"]].values
    rows = [
        ["casme2", fear["subject"], fear["clip"], "0"],
        *[["casme2", s, c, y] for (s, c), y in zip(casme2_rest, "120")],
        ["samm", str(int(other["subject"])), other["clip"], "2"],  # unpadded subject
        *[["samm", str(int(s)), c, y] for (s, c), y in zip(samm_rest, "010")],
        ["samm", "99", "099_9_9", "0"],  # not in the release
        ["smic", "s01", "s01_ne_01", "0"],
    ]
    list_file = project / "composite_list.csv"
    pd.DataFrame(rows).to_csv(list_file, header=False, index=False)
    (project / "conf/local/globals.yml").write_text(
        f"composite_list_file: {list_file}\n"
    )
    features = [
        f"{d}.{n}"
        for d in ("casme2", "samm")
        for n in (
            "select_composite_clips",
            "embed_face_crops",
            "embed_onset_apex",
            "extract_flow_features",
        )
    ]
    run_pipeline(project, "__default__", extra_params=params, node_names=features)
    run_pipeline(
        project,
        "composite",
        extra_params=params,
        to_outputs=["composite.model_inputs"],
    )
    labels = pd.read_csv(
        project / "data/05_model_input/composite/clip_labels.csv", dtype=str
    )
    listed = pd.read_csv(list_file, header=None, dtype=str)
    found = listed[listed[0].isin(["casme2", "samm"]) & (listed[2] != "099_9_9")]
    assert sorted(labels["clip"]) == sorted(found[2])
    assert set(labels["source"]) == {"official_list"}
    assert labels.loc[labels["clip"] == fear["clip"], "label"].item() == "negative"
    rejects = pd.read_csv(
        project / "data/05_model_input/composite/clip_label_rejects.csv", dtype=str
    )
    assert sorted(rejects["clip"]) == ["099_9_9", "s01_ne_01"]
    inputs = np.load(project / "data/05_model_input/composite/model_inputs.npz")
    assert sorted(inputs["clip_name"].tolist()) == sorted(found[2])


@pytest.mark.parametrize("namespace", ["casme2", "samm"])
def test_tiny_runs_of_casme2_and_samm(trained_run, namespace):
    """The shared trained project (conftest.TRAINED): both protocols, every model."""
    project = trained_run.path
    embeddings = pd.read_parquet(
        project / f"data/04_feature/{namespace}/vgg_embeddings.parquet"
    )
    assert set(embeddings["weights"]) == {
        "random (untrained)"
    }  # the null override works
    _check_outputs(project, namespace, {"paper_random_split", "loso"})
    # the tiny set has every class in two subjects: no LOSO fold lacks one
    gaps = pd.read_csv(project / f"data/05_model_input/{namespace}/fold_class_gaps.csv")
    assert gaps[gaps["protocol"] == "loso"].empty, gaps


def test_tiny_run_of_the_composite(trained_run):
    project = trained_run.path
    metrics = _check_outputs(project, "composite", {"composite", "cross_dataset"})
    _check_composite_tables(project)
    assert (metrics["n_classes"] == 3).all()
    predictions = pd.read_parquet(
        project / "data/07_model_output/composite/predictions.parquet"
    )
    assert set(predictions["dataset"]) == {"casme2", "samm"}
    assert predictions["subject"].str.match(r"^(casme2|samm)/").all()


def test_the_saved_all_subjects_models_load_and_predict(trained_project):
    bootstrap_project(trained_project)
    with KedroSession.create(
        project_path=trained_project, runtime_params=copy.deepcopy(TRAINED)
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


def test_a_list_file_decides_the_composite(trained_project):
    _check_a_list_decides_the_composite(trained_project, copy.deepcopy(TRAINED))


@pytest.mark.integration
def test_clip_labels_need_only_the_clip_indexes_and_the_list(context):
    """`kedro run --pipelines=composite --to-outputs=composite.clip_labels` is cheap."""
    cheap = pipelines["composite"].to_outputs("composite.clip_labels")
    assert [n.name for n in cheap.nodes] == ["composite.build_clip_labels"]
    assert cheap.inputs() == {
        "casme2.clip_index",
        "samm.clip_index",
        "composite_list",
        "params:composite.labels",
    }
