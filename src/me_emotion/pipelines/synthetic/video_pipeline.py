"""Synthetic long videos with ground truth (``kedro run --pipelines=synthetic_videos``)."""

from kedro.pipeline import Node, Pipeline

from .video import describe_videos, ground_truth_tables, plan_videos, render_videos


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=plan_videos,
                inputs="params:synthetic_videos",
                outputs=["synthetic_video_plan", "synthetic_video_events"],
                name="plan_videos",
            ),
            Node(
                func=render_videos,
                inputs=[
                    "face_photos",
                    "synthetic_video_plan",
                    "synthetic_video_events",
                    "params:synthetic_videos",
                ],
                outputs="synthetic_video_files",
                name="render_videos",
            ),
            Node(
                func=ground_truth_tables,
                inputs="synthetic_video_events",
                outputs="synthetic_video_ground_truth",
                name="write_video_ground_truth",
            ),
            Node(
                func=describe_videos,
                inputs=[
                    "synthetic_video_plan",
                    "synthetic_video_events",
                    "params:synthetic_videos",
                ],
                outputs="synthetic_video_manifest",
                name="describe_videos",
            ),
        ]
    )
