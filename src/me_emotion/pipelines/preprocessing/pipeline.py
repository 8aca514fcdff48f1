"""Preprocessing: clip index + release frames -> sampled grayscale frames per clip.

Built once; ``pipeline_registry`` instantiates it per dataset with
``namespace="casme2"`` / ``"samm"``, so it reads ``casme2.raw_frames`` and
``params:casme2.preprocessing`` and writes ``casme2.sampled_frames`` (the
strategy's frames) and ``casme2.flow_frames`` (the annotated onset and apex,
for the onset->apex flow whatever the strategy).
"""

from kedro.pipeline import Node, Pipeline

from .nodes import sample_flow_frames, sample_frames


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=sample_frames,
                inputs=["clip_index", "raw_frames", "params:preprocessing"],
                outputs="sampled_frames",
                name="sample_frames",
            ),
            Node(
                func=sample_flow_frames,
                inputs=["clip_index", "raw_frames", "params:preprocessing"],
                outputs="flow_frames",
                name="sample_flow_frames",
            ),
        ]
    )
