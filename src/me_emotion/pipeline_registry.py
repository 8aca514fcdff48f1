"""Project pipelines.

Modular pipelines are built once and instantiated per dataset with a namespace;
``find_pipelines`` cannot create namespaced variants, so they are listed here.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from me_emotion.core.releases import DATASETS
from me_emotion.pipelines import (
    data_ingestion,
    evaluation,
    face_detection,
    feature_extraction,
    preprocessing,
    reporting,
    training,
    video_analysis,
)
from me_emotion.pipelines.synthetic import pipeline as synthetic
from me_emotion.pipelines.synthetic import video_pipeline as synthetic_videos


def dataset_pipeline(dataset: str) -> Pipeline:
    """Every stage for one dataset, under the dataset's namespace."""
    stages = (
        data_ingestion.create_pipeline()
        + preprocessing.create_pipeline()
        + face_detection.create_pipeline()
        + feature_extraction.create_pipeline()
        + training.create_pipeline()
        + evaluation.create_pipeline()
        + reporting.create_pipeline()
    )
    return Pipeline(
        stages,
        namespace=dataset,
        # shared by every namespace: run metadata, and the composite clips each
        # dataset featurises
        inputs={reporting.RUN_ENVIRONMENT, "composite_list"},
        parameters={"params:composite.labels"},
    )


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        ``synthetic`` (demo data: ``synthetic_releases``, the CASME-II- and
        SAMM-layout releases, + ``synthetic_videos``, long videos with ground
        truth), ``casme2``, ``samm``, ``composite`` (both datasets' features
        joined, 3 classes, LOSO; run ``casme2`` and ``samm`` first), ``video``
        (spot and classify micro-expressions in videos with the trained casme2
        and samm models) and ``__default__`` (both datasets; run ``synthetic``
        first, or point globals at real data).
    """
    releases = synthetic.create_pipeline()
    videos = synthetic_videos.create_pipeline()
    pipelines = {
        "synthetic": releases + videos,
        "synthetic_releases": releases,
        "synthetic_videos": videos,
    }
    for dataset in DATASETS:
        pipelines[dataset] = dataset_pipeline(dataset)
    pipelines["composite"] = (
        training.create_composite_pipeline(DATASETS)
        + Pipeline(evaluation.create_pipeline(), namespace="composite")
        + reporting.create_composite_pipeline(DATASETS)
    )
    pipelines["video"] = video_analysis.create_pipeline()
    pipelines["__default__"] = pipelines["casme2"] + pipelines["samm"]
    return pipelines
