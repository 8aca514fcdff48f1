"""Evaluation: test predictions -> per-subject table, bootstrap intervals, paired comparisons.

Built once and instantiated after training under each namespace (``casme2``,
``samm``, ``composite``) by ``pipeline_registry``.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from .nodes import bootstrap_over_subjects, tabulate_subject_metrics


def create_pipeline(**kwargs) -> Pipeline:
    """``predictions`` -> ``subject_metrics``, ``bootstrap_intervals``, ``model_comparison``."""
    return Pipeline(
        [
            Node(
                func=tabulate_subject_metrics,
                inputs=["predictions", "params:evaluation_statistics"],
                outputs="subject_metrics",
                name="tabulate_subject_metrics",
            ),
            Node(
                func=bootstrap_over_subjects,
                inputs=["predictions", "params:evaluation_statistics"],
                outputs=["bootstrap_intervals", "model_comparison"],
                name="bootstrap_over_subjects",
            ),
        ]
    )
