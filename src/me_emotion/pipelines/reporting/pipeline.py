"""Reporting: metrics and predictions -> tables, plotly figures, one HTML report.

Built once; ``pipeline_registry`` instantiates it per dataset with
``namespace="casme2"`` / ``"samm"`` (``casme2.report_html``,
``params:casme2.reporting``, ...). The composite evaluation reuses it with
``data_sources=("casme2", "samm")``: its report then describes both releases.
The report prints the parameter blocks its pipeline is wired to
(``printed_blocks``) and reads package versions from the shared,
un-namespaced ``run_environment`` dataset.
"""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Node, Pipeline

from me_emotion.core.releases import DATASETS

from .nodes import (
    build_composite_evaluation_tables,
    build_evaluation_tables,
    build_result_tables,
    gather_run_parameters,
    plot_confusion_matrices,
    plot_per_class_recall,
    plot_uf1_uar,
    render_report,
    render_tables_markdown,
    summarise_data_source,
)


def data_source_pipeline() -> Pipeline:
    """One dataset's data-source summary (release, counts, rejects, weights)."""
    return Pipeline(
        [
            Node(
                func=summarise_data_source,
                inputs=[
                    "clip_index",
                    "ingestion_rejects",
                    "face_rejects",
                    "vgg_embeddings",
                    "params:data_ingestion",
                ],
                outputs="data_source",
                name="summarise_data_source",
            )
        ]
    )


# Parameter blocks printed in a dataset's report: every stage of its namespace.
DATASET_BLOCKS = (
    "data_ingestion",
    "preprocessing",
    "face_detection",
    "feature_extraction",
    "training",
    "reporting",
)
# The composite namespace has only these two.
COMPOSITE_BLOCKS = ("training", "reporting")
RUN_ENVIRONMENT = "run_environment"  # one catalog entry, shared by every namespace


EVALUATION = ("bootstrap_intervals", "subject_metrics", "model_comparison")
# The composite's own tables (pipelines/training/composite.py).
COMPOSITE_TABLES = (
    "metrics",
    "class_counts",
    "figures_by_dataset",
    "clip_label_rejects",
)


def _evaluation_tables_node(composite: bool) -> Node:
    if composite:
        return Node(
            func=build_composite_evaluation_tables,
            inputs=[*EVALUATION, *COMPOSITE_TABLES, "params:reporting"],
            outputs="evaluation_tables",
            name="build_evaluation_tables",
        )
    return Node(
        func=build_evaluation_tables,
        inputs=[*EVALUATION, "params:reporting"],
        outputs="evaluation_tables",
        name="build_evaluation_tables",
    )


def results_pipeline(
    data_sources: Sequence[str] = ("data_source",),
    printed_blocks: Sequence[str] = DATASET_BLOCKS,
    composite: bool = False,
) -> Pipeline:
    """Tables, figures and the HTML report from ``metrics`` and ``confusion_matrices``.

    Args:
        data_sources: the data-source summaries the report describes; inside a
            dataset namespace its own ``data_source``; for the composite
            evaluation one per dataset, which ``create_composite_pipeline``
            maps to ``casme2.data_source``, ``samm.data_source``.
        printed_blocks: the parameter blocks of the namespace printed at the
            end of the report (``params:<namespace>.<block>``).
        composite: add the composite section (3-class counts, figures by
            dataset, transfer, list rejects) from the composite's own tables.
    """
    return Pipeline(
        [
            Node(
                func=build_result_tables,
                inputs=["metrics", "bootstrap_intervals", "params:reporting"],
                outputs=[
                    "table1_hybrid_micronet",
                    "table2_au_enhanced",
                    "table3_baselines",
                ],
                name="build_result_tables",
            ),
            Node(
                func=render_tables_markdown,
                inputs=[
                    "table1_hybrid_micronet",
                    "table2_au_enhanced",
                    "table3_baselines",
                    "metrics",
                    "bootstrap_intervals",
                    "params:reporting",
                ],
                outputs="results_tables_md",
                name="render_tables_markdown",
            ),
            _evaluation_tables_node(composite),
            Node(
                func=plot_confusion_matrices,
                inputs=["confusion_matrices", "metrics", "params:reporting"],
                outputs="confusion_matrices_plot",
                name="plot_confusion_matrices",
            ),
            Node(
                func=plot_uf1_uar,
                inputs=["metrics", "params:reporting"],
                outputs="uf1_uar_plot",
                name="plot_uf1_uar",
            ),
            Node(
                func=plot_per_class_recall,
                inputs=["confusion_matrices", "metrics", "params:reporting"],
                outputs="per_class_recall_plot",
                name="plot_per_class_recall",
            ),
            Node(
                func=gather_run_parameters,
                inputs={block: f"params:{block}" for block in printed_blocks},
                outputs="run_parameters",
                name="gather_run_parameters",
            ),
            Node(
                func=render_report,
                inputs=[
                    "metrics",
                    "table1_hybrid_micronet",
                    "table2_au_enhanced",
                    "table3_baselines",
                    "confusion_matrices_plot",
                    "uf1_uar_plot",
                    "per_class_recall_plot",
                    "params:reporting",
                    "run_parameters",
                    RUN_ENVIRONMENT,
                    "fold_class_gaps",
                    "evaluation_tables",
                    *data_sources,
                ],
                outputs="report_html",
                name="render_report",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """The whole reporting stage of one dataset namespace.

    Its namespaced instance must keep ``RUN_ENVIRONMENT`` un-prefixed
    (``Pipeline(..., namespace=dataset, inputs={RUN_ENVIRONMENT})``).
    """
    return data_source_pipeline() + results_pipeline()


def create_composite_pipeline(datasets: Sequence[str] = DATASETS) -> Pipeline:
    """The composite evaluation's report, describing every dataset it joins.

    Reads ``composite.metrics`` / ``composite.confusion_matrices``, the
    evaluation stage's ``composite.*`` tables, the composite's
    ``class_counts`` / ``figures_by_dataset`` / ``clip_label_rejects`` and each
    dataset's ``<dataset>.data_source`` (written by the dataset pipelines).
    """
    sources = {
        f"data_source_{dataset}": f"{dataset}.data_source" for dataset in datasets
    }
    return Pipeline(
        results_pipeline(list(sources), COMPOSITE_BLOCKS, composite=True),
        inputs={**sources, RUN_ENVIRONMENT: RUN_ENVIRONMENT},
        namespace="composite",
    )
