"""Training: model inputs -> folds -> every model on every fold -> pooled metrics.

``create_pipeline`` is built once and instantiated per dataset by
``pipeline_registry`` (``namespace="casme2"`` / ``"samm"``);
``create_composite_pipeline`` assembles both datasets' inputs, joins them and
runs the same evaluation under the ``composite`` namespace.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from me_emotion.core.releases import DATASETS

from .composite import clip_labels_pipeline, figures_pipeline
from .models import KERAS_MODELS, MODELS
from .nodes import (
    assemble_model_inputs,
    compute_metrics,
    join_datasets,
    make_folds,
    pool_predictions,
    train_ann,
    train_au_enhanced,
    train_cnn,
    train_decision_tree,
    train_flow_cnn,
    train_hybrid_micronet,
    train_svm,
)

TRAINERS = {
    "hybrid_micronet": train_hybrid_micronet,
    "cnn": train_cnn,
    "ann": train_ann,
    "flow_cnn": train_flow_cnn,
    "decision_tree": train_decision_tree,
    "svm": train_svm,
    "au_enhanced": train_au_enhanced,
}


def model_dataset(model: str) -> str:
    """Catalog name of a model's all-subjects model (Keras ``.keras`` or scikit-learn)."""
    kind = "keras" if model in KERAS_MODELS else "sklearn"
    return f"{kind}_model_{model}"


def assemble_pipeline() -> Pipeline:
    """Features of one dataset -> ``model_inputs``."""
    return Pipeline(
        [
            Node(
                func=assemble_model_inputs,
                inputs=[
                    "clip_index",
                    "vgg_embeddings",
                    "flow_features",
                    "face_crops",
                    "params:feature_extraction",
                    "params:training",
                ],
                outputs="model_inputs",
                name="assemble_model_inputs",
            )
        ]
    )


def evaluation_pipeline() -> Pipeline:
    """``model_inputs`` -> folds -> one node per model -> predictions, metrics."""
    trainers = [
        Node(
            func=TRAINERS[model],
            inputs=["model_inputs", "folds", "params:training"],
            outputs=[f"predictions_{model}", model_dataset(model)],
            name=f"train_{model}",
        )
        for model in MODELS
    ]
    return Pipeline(
        [
            Node(
                func=make_folds,
                inputs=["model_inputs", "params:training"],
                outputs=["folds", "fold_class_gaps"],
                name="make_folds",
            ),
            *trainers,
            Node(
                func=pool_predictions,
                inputs=[f"predictions_{model}" for model in MODELS],
                outputs="predictions",
                name="pool_predictions",
            ),
            Node(
                func=compute_metrics,
                inputs="predictions",
                outputs=["metrics", "confusion_matrices"],
                name="compute_metrics",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """One dataset's training stage (instantiate it under the dataset's namespace)."""
    return assemble_pipeline() + evaluation_pipeline()


def create_composite_pipeline(
    datasets: tuple[str, ...] = DATASETS,
) -> Pipeline:
    """CASME-II + SAMM joined (3 classes, dataset-prefixed subjects), evaluated by LOSO.

    Reads each dataset's features (``casme2.vgg_embeddings`` ...), which the
    ``casme2`` and ``samm`` pipelines write; membership and labels come from
    ``composite.clip_labels`` (``composite.py``).
    """
    parts = [
        Pipeline(
            assemble_pipeline(),
            inputs={
                "clip_index": f"composite.labelled_clip_index_{dataset}",
                **{
                    name: f"{dataset}.{name}"
                    for name in ("vgg_embeddings", "flow_features", "face_crops")
                },
            },
            parameters={
                "params:feature_extraction": f"params:{dataset}.feature_extraction",
                "params:training": "params:composite.training",
            },
            outputs={"model_inputs": f"composite.model_inputs_{dataset}"},
            namespace=f"composite.{dataset}",
        )
        for dataset in datasets
    ]
    join = Pipeline(
        [
            Node(
                func=join_datasets,
                inputs=[f"model_inputs_{dataset}" for dataset in datasets],
                outputs="model_inputs",
                name="join_datasets",
            )
        ]
    )
    return (
        clip_labels_pipeline(datasets)
        + sum(parts, Pipeline([]))
        + Pipeline(join + evaluation_pipeline(), namespace="composite")
        + figures_pipeline()
    )
