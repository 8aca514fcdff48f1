"""Synthetic demo releases in the CASME-II and SAMM layouts.

One modular pipeline, instantiated per layout with the namespaces
``synthetic_casme2`` and ``synthetic_samm``; the photographs and the shared
``params:synthetic`` stay un-namespaced.
"""

from kedro.pipeline import Node, Pipeline

from me_emotion.core.releases import DATASETS

from .nodes import describe_release, plan_release, render_frames, write_coding_sheet

RELEASES = DATASETS


def create_release_pipeline() -> Pipeline:
    return Pipeline(
        [
            Node(
                func=plan_release,
                inputs=["params:synthetic", "params:release"],
                outputs="clip_plan",
                name="plan_release",
            ),
            Node(
                func=render_frames,
                inputs=[
                    "face_photos",
                    "clip_plan",
                    "params:synthetic",
                    "params:release",
                ],
                outputs="frames",
                name="render_frames",
            ),
            Node(
                func=write_coding_sheet,
                inputs=["clip_plan", "params:release"],
                outputs="coding_sheet",
                name="write_coding_sheet",
            ),
            Node(
                func=describe_release,
                inputs=["clip_plan", "params:synthetic", "params:release"],
                outputs="manifest",
                name="describe_release",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    release = create_release_pipeline()
    return sum(
        (
            Pipeline(
                release,
                namespace=f"synthetic_{name}",
                inputs={"face_photos"},
                parameters={"params:synthetic"},
            )
            for name in RELEASES
        ),
        Pipeline([]),
    )
