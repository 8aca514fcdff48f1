"""Feature extraction: face crops -> VGG-16 embeddings and onset->apex flow features.

Built once; ``pipeline_registry`` instantiates it per dataset with
``namespace="casme2"`` / ``"samm"`` (``casme2.vgg_embeddings``,
``params:casme2.feature_extraction``, ...). The embedding node receives
the weights (``casme2.vgg16_weights``) and the machine's description
(``run_environment``, shared by every namespace) from the catalog. Its clips
are the dataset's class set plus the dataset's MEGC 2019 composite clips
(``composite_list`` and ``params:composite.labels`` are shared by every
namespace: the registry keeps their names).
"""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    embed_face_crops,
    embed_onset_apex,
    extract_flow_features,
    select_composite_clips,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=select_composite_clips,
                inputs=["clip_index", "composite_list", "params:composite.labels"],
                outputs="composite_clips",
                name="select_composite_clips",
            ),
            Node(
                func=embed_face_crops,
                inputs=[
                    "face_crops",
                    "face_boxes",
                    "vgg16_weights",
                    "run_environment",
                    "params:feature_extraction",
                    "vgg_embeddings_previous",
                    "composite_clips",
                ],
                outputs="vgg_embeddings",
                name="embed_face_crops",
            ),
            Node(
                func=embed_onset_apex,
                inputs=[
                    "flow_crops",
                    "face_boxes",
                    "vgg16_weights",
                    "run_environment",
                    "params:feature_extraction",
                    "composite_clips",
                ],
                outputs="onset_apex_embeddings",
                name="embed_onset_apex",
            ),
            Node(
                func=extract_flow_features,
                inputs=[
                    "flow_crops",
                    "face_boxes",
                    "params:feature_extraction",
                    "flow_features_previous",
                    "composite_clips",
                ],
                outputs="flow_features",
                name="extract_flow_features",
            ),
        ]
    )
