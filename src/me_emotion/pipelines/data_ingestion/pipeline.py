"""Data ingestion: a release's coding spreadsheet + frame folders -> clip index.

Built once; ``pipeline_registry`` instantiates it per dataset with
``namespace="casme2"`` / ``"samm"``, so its datasets become
``casme2.clip_index`` and its parameters ``params:casme2.data_ingestion``.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import build_clip_index


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=build_clip_index,
                inputs=["coding_sheet", "frame_tree", "params:data_ingestion"],
                outputs=["clip_index", "ingestion_rejects"],
                name="build_clip_index",
            )
        ]
    )
