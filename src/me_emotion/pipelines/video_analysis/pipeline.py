"""The video pipeline, registered as ``video`` (datasets ``video.*``).

It reads the models trained by the ``casme2`` and ``samm`` pipelines
(``video.recognition_models``: loaders of ``data/06_models/<namespace>/*.keras``,
of which only the chosen model per namespace is read; ``{namespace}.data_source``) and their
parameters (classes, image size, VGG-16 weights, crops), so a model always
gets the inputs it was trained on.
"""

from kedro.pipeline import Node, Pipeline

from me_emotion.core.releases import DATASETS

from .nodes import (
    classify_intervals,
    compute_spotting_signals,
    describe_model_sources,
    evaluate_spotting_if_truth,
    extract_interval_crops,
    measure_agreement,
    spot_intervals,
    summarise_videos,
    track_faces,
    truth_micro_intervals,
)
from .report import draw_timelines, render_video_report

WEIGHTS_INPUTS = {f"{namespace}.vgg16_weights" for namespace in DATASETS}
SHARED_INPUTS = (
    WEIGHTS_INPUTS
    | {"casme2.data_source", "samm.data_source", "run_environment"}
    | {f"{ns}.{name}" for ns in DATASETS for name in ("metrics", "bootstrap_intervals")}
)
SHARED_PARAMETERS = {
    "params:casme2",
    "params:samm",
    "params:casme2.face_detection",
    "params:composite.labels.class_maps",
}


def create_pipeline(**kwargs) -> Pipeline:
    nodes = [
        Node(
            func=track_faces,
            inputs=["videos", "haar_cascade", "params:tracking"],
            outputs=["face_tracks", "video_index", "rejects"],
            name="track_faces",
        ),
        Node(
            func=compute_spotting_signals,
            inputs=["videos", "face_tracks", "video_index", "params:spotting"],
            outputs="spotting_signals",
            name="compute_spotting_signals",
        ),
        Node(
            func=spot_intervals,
            inputs=["spotting_signals", "video_index", "params:spotting"],
            outputs="spotted_intervals",
            name="spot_intervals",
        ),
        Node(
            func=truth_micro_intervals,
            inputs=["ground_truth", "video_index"],
            outputs="truth_intervals",
            name="truth_micro_intervals",
        ),
        Node(
            func=extract_interval_crops,
            inputs=[
                "videos",
                "face_tracks",
                "spotted_intervals",
                "truth_intervals",
                "haar_cascade",
                "params:casme2.face_detection",
                "params:recognition",
            ],
            outputs=["interval_crops", "truth_interval_crops"],
            name="extract_interval_crops",
        ),
        Node(
            func=describe_model_sources,
            inputs=[
                "casme2.data_source",
                "samm.data_source",
                "casme2.metrics",
                "samm.metrics",
                "casme2.bootstrap_intervals",
                "samm.bootstrap_intervals",
                "params:recognition",
            ],
            outputs="model_sources",
            name="describe_model_sources",
        ),
        Node(
            func=classify_intervals,
            inputs=[
                "spotted_intervals",
                "interval_crops",
                "truth_intervals",
                "truth_interval_crops",
                "recognition_models",
                "casme2.vgg16_weights",
                "samm.vgg16_weights",
                "run_environment",
                "model_sources",
                "params:casme2",
                "params:samm",
                "params:composite.labels.class_maps",
            ],
            outputs=["intervals", "truth_intervals_labelled"],
            name="classify_intervals",
        ),
        Node(
            func=measure_agreement,
            inputs=["intervals", "model_sources"],
            outputs="agreement",
            name="measure_agreement",
        ),
        Node(
            func=summarise_videos,
            inputs=["video_index", "face_tracks", "intervals", "model_sources"],
            outputs="summary",
            name="summarise_videos",
        ),
        Node(
            func=evaluate_spotting_if_truth,
            inputs=[
                "intervals",
                "truth_intervals_labelled",
                "ground_truth",
                "params:evaluation",
                "params:spotting",
                "params:tracking",
            ],
            outputs="spotting_metrics",
            name="evaluate_spotting",
        ),
        Node(
            func=draw_timelines,
            inputs=[
                "spotting_signals",
                "intervals",
                "video_index",
                "model_sources",
                "params:spotting",
            ],
            outputs="timelines",
            name="draw_timelines",
        ),
        Node(
            func=render_video_report,
            inputs=[
                "summary",
                "intervals",
                "agreement",
                "spotting_metrics",
                "rejects",
                "interval_crops",
                "timelines",
                "model_sources",
                "params:report",
            ],
            outputs="report_html",
            name="render_video_report",
        ),
    ]
    return Pipeline(
        nodes,
        namespace="video",
        inputs=SHARED_INPUTS,
        parameters=SHARED_PARAMETERS,
    )
