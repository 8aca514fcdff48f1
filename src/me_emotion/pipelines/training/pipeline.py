"""Training: model inputs -> folds -> every model on every fold -> pooled metrics.

``create_pipeline`` is built once and instantiated per dataset by
``pipeline_registry`` (``namespace="casme2"`` / ``"samm"``);
``create_composite_pipeline`` assembles both datasets' inputs, joins them and
runs the same evaluation under the ``composite`` namespace.
"""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from me_emotion.core.releases import DATASETS

from .composite import clip_labels_pipeline, figures_pipeline
from .nodes import (
    assemble_model_inputs,
    compute_metrics,
    evaluate_model,
    join_datasets,
    make_folds,
    pool_predictions,
)
from .registry import MODELS, model_dataset

# What every model's evaluation shares, from the training block.
SHARED_PARAMETERS = [
    "params:training.seed",
    "params:training.n_seeds",
    "params:training.class_weight",
    "params:training.precision",
    "params:training.steps_per_execution",
    "params:training.early_stopping",
]


def model_template(model: str) -> Pipeline:
    """One model's evaluation: ``evaluate_model`` with the model bound.

    Written with template names (``model_options``, ``predictions``,
    ``fitted_model``) and instantiated per model by :func:`model_pipeline`.
    """
    evaluate = update_wrapper(partial(evaluate_model, model), evaluate_model)
    return Pipeline(
        [
            Node(
                func=evaluate,
                inputs=["model_inputs", "folds", "params:model_options"]
                + SHARED_PARAMETERS
                + ["run_environment"],
                outputs=["predictions", "fitted_model"],
                name=f"train_{model}",
            )
        ]
    )


def model_pipeline(model: str) -> Pipeline:
    """The template for one model, handed its own block ``training.models.<model>``."""
    return Pipeline(
        model_template(model),
        inputs={"model_inputs", "folds", "run_environment"},
        outputs={
            "predictions": f"predictions_{model}",
            "fitted_model": model_dataset(model),
        },
        parameters={"params:model_options": f"params:training.models.{model}"},
    )


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
                    "onset_apex_embeddings",
                    "flow_crops",
                ],
                outputs="model_inputs",
                name="assemble_model_inputs",
            )
        ]
    )


def evaluation_pipeline() -> Pipeline:
    """``model_inputs`` -> folds -> one node per model -> predictions, metrics."""
    return Pipeline(
        [
            Node(
                func=make_folds,
                inputs=["model_inputs", "params:training"],
                outputs=["folds", "fold_class_gaps"],
                name="make_folds",
            ),
            *(model_pipeline(model) for model in MODELS),
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
                    for name in (
                        "vgg_embeddings",
                        "flow_features",
                        "face_crops",
                        "onset_apex_embeddings",
                        "flow_crops",
                    )
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
        + Pipeline(
            join + evaluation_pipeline(),
            namespace="composite",
            inputs={"run_environment"},
        )
        + figures_pipeline()
    )
