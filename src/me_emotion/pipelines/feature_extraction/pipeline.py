"""Feature extraction: face crops -> VGG-16 embeddings and onset->apex flow features.

Built once; ``pipeline_registry`` instantiates it per dataset with
``namespace="casme2"`` / ``"samm"`` (``casme2.vgg_embeddings``,
``params:casme2.feature_extraction``, ...). The embedding node receives
the weights (``casme2.vgg16_weights``) and the machine's description
(``run_environment``, shared by every namespace) from the catalog.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import embed_face_crops, extract_flow_features


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=embed_face_crops,
                inputs=[
                    "face_crops",
                    "face_boxes",
                    "vgg16_weights",
                    "run_environment",
                    "params:feature_extraction",
                    "vgg_embeddings_previous",
                ],
                outputs="vgg_embeddings",
                name="embed_face_crops",
            ),
            Node(
                func=extract_flow_features,
                inputs=[
                    "flow_crops",
                    "face_boxes",
                    "params:feature_extraction",
                    "flow_features_previous",
                ],
                outputs="flow_features",
                name="extract_flow_features",
            ),
        ]
    )
