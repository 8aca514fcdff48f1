"""The reporting pipeline through the project's own catalog entries, and in a browser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner

from me_emotion.pipelines import reporting
from me_emotion.pipelines.reporting.pipeline import DATASET_BLOCKS
from tests.conftest import PROJECT_ROOT

from . import chromium
from .conftest import CLASSES, WEIGHTS

FIGURES = ("uf1_uar_plot", "confusion_matrices_plot", "per_class_recall_plot")


def _catalog(inputs: dict) -> DataCatalog:
    """conf/base/catalog_reporting.yml (paths relative to the cwd) plus in-memory inputs."""
    config = yaml.safe_load(
        (PROJECT_ROOT / "conf/base/catalog_reporting.yml").read_text()
    )
    catalog = DataCatalog.from_config(config)
    for name, data in inputs.items():
        catalog[name] = MemoryDataset(data, copy_mode="assign")
    return catalog


@pytest.fixture
def run_report(  # noqa: PLR0913, PLR0917 - one fixture per input table
    tmp_path,
    monkeypatch,
    clip_index,
    params,
    bootstrap_intervals,
    subject_metrics,
    model_comparison,
):
    """Run the casme2-namespaced reporting pipeline on given metrics; returns the catalog."""
    monkeypatch.chdir(tmp_path)

    def run(metrics: pd.DataFrame, confusion_matrices: pd.DataFrame) -> DataCatalog:
        embeddings = pd.DataFrame(
            {
                "clip": clip_index["clip"],
                "aug_id": 0,
                "weights": WEIGHTS,
                "precision": "float32",
            }
        )
        catalog = _catalog(
            {
                "casme2.metrics": metrics,
                "casme2.confusion_matrices": confusion_matrices,
                "casme2.clip_index": clip_index,
                "casme2.ingestion_rejects": pd.DataFrame(columns=["reason"]),
                "casme2.face_rejects": pd.DataFrame(columns=["reason"]),
                "casme2.fold_class_gaps": pd.DataFrame(
                    columns=["protocol", "fold", "level", "missing_classes"]
                ),
                "casme2.vgg_embeddings": embeddings,
                "casme2.bootstrap_intervals": bootstrap_intervals,
                "casme2.subject_metrics": subject_metrics,
                "casme2.model_comparison": model_comparison,
                "params:casme2.data_ingestion": {
                    "dataset": "casme2",
                    "coding_file": "c.xlsx",
                },
                **{
                    f"params:casme2.{block}": {"block": block}
                    for block in DATASET_BLOCKS
                },
                "params:casme2.reporting": params,
            }
        )
        pipeline = Pipeline(
            reporting.create_pipeline(),
            namespace="casme2",
            inputs={reporting.RUN_ENVIRONMENT},
        )
        SequentialRunner().run(pipeline, catalog)
        return catalog

    return run


def test_every_output_is_written_where_the_catalog_says(
    run_report, metrics, confusion_matrices, tmp_path
):
    catalog = run_report(metrics, confusion_matrices)
    folder = tmp_path / "data/08_reporting/casme2"
    assert {p.name for p in folder.iterdir()} == {
        "data_source.json",
        "run_parameters.json",
        "table1_hybrid_micronet.csv",
        "table2_au_enhanced.csv",
        "table3_baselines.csv",
        "results_tables.md",
        "confusion_matrices.json",
        "uf1_uar.json",
        "per_class_recall.json",
        "report.html",
    }
    for name in FIGURES:
        assert isinstance(catalog.load(f"casme2.{name}"), go.Figure)
    table3 = catalog.load("casme2.table3_baselines")
    assert {"protocol", "level", "chance UAR"} <= set(table3.columns)
    assert catalog.load("casme2.data_source")["vgg16_weights"] == [WEIGHTS]
    report = catalog.load("casme2.report_html")
    assert "SYNTHETIC DATA" in report
    # the shared run_environment dataset's versions are in the footer
    environment = catalog.load(reporting.RUN_ENVIRONMENT)
    assert f"kedro {environment['packages']['kedro']}," in report
    # every wired parameter block, and only those, is printed
    printed = catalog.load("casme2.run_parameters")
    assert list(printed) == list(DATASET_BLOCKS)
    assert "block: face_detection" in report
    # the evaluation stage's intervals reach the CSV tables and the Markdown
    assert "UF1 95% CI" in table3.columns
    markdown = (folder / "results_tables.md").read_text()
    assert "UF1 95% CI" in markdown
    assert 'id="uncertainty"' in report


def test_the_training_stages_own_metrics_are_reported(run_report, tmp_path):
    """Contract with the training stage: its compute_metrics output feeds reporting as is."""
    from me_emotion.pipelines.training.nodes import compute_metrics  # noqa: PLC0415

    rng = np.random.default_rng(0)
    rows = []
    for model in ("hybrid_micronet", "svm", "au_enhanced"):
        for protocol in ("paper_random_split", "loso"):
            for level in ("frame", "clip"):
                for i in range(30):
                    truth = CLASSES[i % 3]
                    guess = truth if rng.random() < 0.6 else CLASSES[(i + 1) % 3]
                    probabilities = {f"prob_{c}": float(c == guess) for c in CLASSES}
                    rows.append(
                        {
                            "data_source": "synthetic",
                            "embedding_weights": WEIGHTS,
                            "settings": "demo settings",
                            "image_size": "48" if model == "hybrid_micronet" else "-",
                            "epochs": "12" if model == "hybrid_micronet" else "-",
                            "n_seeds": 1,
                            "seed": 2026,
                            "dataset": "casme2",
                            "protocol": protocol,
                            "model": model,
                            "level": level,
                            "fold": f"sub{i % 3:02d}"
                            if protocol == "loso"
                            else "random_split",
                            "clip": f"EP{i:02d}",
                            "y_true": truth,
                            "y_pred": guess,
                            **probabilities,
                        }
                    )
    metrics, confusion_matrices = compute_metrics(pd.DataFrame(rows))
    catalog = run_report(metrics, confusion_matrices)
    table1 = catalog.load("casme2.table1_hybrid_micronet")
    assert list(table1["protocol"]) == ["paper_random_split", "loso"] * 2
    figure = catalog.load("casme2.confusion_matrices_plot")
    assert list(figure.data[0].x) == CLASSES


def test_the_report_renders_every_figure_in_chromium(
    run_report, metrics, confusion_matrices, tmp_path
):
    """Headless Chromium opens the page from disk, offline, and plotly draws three figures."""
    chromium.require_chromium()
    run_report(metrics, confusion_matrices)
    page = tmp_path / "data/08_reporting/casme2/report.html"
    dom = chromium.dump_dom(page.as_uri(), budget_ms=8000)
    for div in ("uf1-uar", "confusion-matrices", "per-class-recall"):
        start = dom.index(f'id="{div}"')
        assert 'class="main-svg"' in dom[start : start + 20000], f"{div} was not drawn"
    assert "SYNTHETIC DATA" in dom
    shot = chromium.screenshot(
        page.as_uri(), tmp_path / "report.png", size=(1280, 2400), budget_ms=8000
    )
    assert shot.stat().st_size > 50_000


def test_the_composite_report_reads_the_composite_and_evaluation_tables():
    """Its section's inputs are the composite stage's and the evaluation stage's outputs."""
    inputs = reporting.create_composite_pipeline().inputs()
    assert {
        "composite.class_counts",
        "composite.figures_by_dataset",
        "composite.clip_label_rejects",
        "composite.bootstrap_intervals",
        "composite.subject_metrics",
        "composite.model_comparison",
        "casme2.data_source",
        "samm.data_source",
    } <= inputs
    assert "class_counts" not in str(sorted(reporting.create_pipeline().inputs()))
