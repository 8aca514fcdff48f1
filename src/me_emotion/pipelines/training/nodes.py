"""Nodes of the training stage: inputs -> folds -> one node per model -> metrics.

Every node is a pure function of catalog datasets and parts of
``params:<namespace>.training`` (conf/base/parameters_training.yml; the
paper's settings are the ``paper`` configuration environment, conf/paper/).
The block is checked once at startup (``me_emotion.parameters``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from me_emotion.core.clip_frames import ClipFrames
from me_emotion.core.metrics import (
    METRIC_COLUMNS,
    classification_metrics,
    confusion_counts,
)
from me_emotion.core.vgg16 import resolve_precision
from me_emotion.prefetch import map_tasks

from .evaluation import (
    SETTINGS_COLUMNS,
    FitSettings,
    ModelEvaluation,
    concat_predictions,
    fit_one_fold,
    run_settings,
)
from .inputs import (
    ModelInputs,
    assemble_inputs,
    check_every_class_has_clips,
    join_inputs,
)
from .protocols import FINAL, build_folds, classes_missing_from_training, iter_folds
from .registry import MODELS

logger = logging.getLogger(__name__)

SEED_SD_COLUMNS = ["uf1", "uar"]  # metrics reported with their sd over seeds

GROUP_COLUMNS = [
    "data_source",
    "embedding_weights",
    *SETTINGS_COLUMNS,
    "protocol",
    "model",
    "level",
]


def assemble_model_inputs(  # noqa: PLR0913, PLR0917 - a Kedro node: inputs come positionally
    clip_index: pd.DataFrame,
    vgg_embeddings: pd.DataFrame,
    flow_features: dict[str, np.ndarray],
    face_crops: dict[str, Callable[[], ClipFrames]],
    feature_params: dict[str, Any],
    params: dict[str, Any],
    onset_apex_embeddings: dict[str, np.ndarray] | None = None,
    flow_crops: dict[str, Callable[[], ClipFrames]] | None = None,
) -> dict[str, np.ndarray]:
    """Every model's inputs for one dataset as plain arrays.

    Args:
        clip_index: one row per clip (subject, clip, emotion, au_codes, source).
        vgg_embeddings: one row per clip x frame x ``aug_id``.
        flow_features: per-clip onset->apex flow maps.
        face_crops: ``{subject/clip: loader}`` of the 256x256 crops, read one
            clip at a time to rebuild the image branch's images.
        feature_params: ``params:<namespace>.feature_extraction`` (augmentation,
            image), so ``aug_id`` k is the embeddings' variant k.
        params: ``params:<namespace>.training``.
        onset_apex_embeddings: per-clip VGG-16 of the flow's onset and apex crops.
        flow_crops: the flow's onset and apex crops, for their model images.

    Returns:
        The arrays of a :class:`ModelInputs`.
    """
    inputs = assemble_inputs(
        clip_index,
        vgg_embeddings,
        flow_features,
        face_crops,
        feature_params,
        params,
        onset_apex_embeddings,
        flow_crops,
    )
    return inputs.to_arrays()


def join_datasets(*parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The composite's inputs: several datasets' model inputs, subjects dataset-prefixed."""
    loaded = [ModelInputs.from_arrays(part) for part in parts]
    named = {}
    for part in loaded:
        names = sorted(set(part.clip_dataset.tolist())) or [f"part{len(named)}"]
        named["+".join(names)] = part
    return join_inputs(named).to_arrays()


def make_folds(
    model_inputs: dict[str, np.ndarray], params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Folds of the selected protocols plus the ``final`` all-subjects fold.

    A fold whose training side lacks a class is logged as a warning naming the
    fold and the class, and listed in the second table (the report shows it).

    Returns:
        The folds: one row per (protocol, fold, level, sample), ``role`` train,
        validation or test (see ``protocols.py``); and the folds trained
        without a class (``protocols.GAP_COLUMNS``).

    Raises:
        ValueError: a class without clips, an unknown protocol, fewer than two
            subjects for ``loso``.
    """
    inputs = ModelInputs.from_arrays(model_inputs)
    check_every_class_has_clips(inputs)
    folds = build_folds(inputs, params)
    logger.info(
        "%s: %d clips of %d subjects; folds %s",
        "+".join(sorted(set(inputs.clip_dataset.tolist()))),
        len(inputs.clip_y),
        len(set(inputs.clip_subject.tolist())),
        folds.groupby("protocol")["fold"].nunique().to_dict(),
    )
    gaps = classes_missing_from_training(folds, inputs)
    for gap in gaps[gaps["level"] == "clip"].itertuples(index=False):
        logger.warning(
            "%s fold %s trains without class(es) %s (%d test clip(s) of them): "
            "it cannot predict them, so their recall there is 0; more subjects "
            "with these classes fix it",
            gap.protocol,
            gap.fold,
            gap.missing_classes,
            gap.test_clips_of_them,
        )
    return folds, gaps


def evaluate_model(  # noqa: PLR0913, PLR0917 - a Kedro node: inputs come positionally
    model: str,
    model_inputs: dict[str, np.ndarray],
    folds: pd.DataFrame,
    options: dict[str, Any],
    seed: int,
    n_seeds: int,
    class_weight: str | None,
    precision: str,
    steps_per_execution: int,
    early_stopping: dict[str, Any],
    run_environment: dict[str, Any],
) -> tuple[pd.DataFrame, Any]:
    """One model of the registry on every fold, then on every subject.

    The pipeline makes one node per model (``train_<model>``) with ``model``
    bound; the other arguments are catalog datasets and parameters.

    Args:
        model: its name in ``registry.MODELS``.
        model_inputs: the arrays of a :class:`ModelInputs`.
        folds: the fold table of ``make_folds``.
        options: ``params:<namespace>.training.models.<model>``.
        seed: ``training.seed`` (initial weights, shuffles, ``random_state``).
        n_seeds: ``training.n_seeds``: the folds are fitted once per seed
            ``seed .. seed + n_seeds - 1`` (rows carry ``seed``); the folds
            themselves and the kept all-subjects model use ``seed``.
        class_weight: ``training.class_weight`` (``balanced`` or null).
        precision: ``training.precision`` (auto | float32 | bfloat16; Keras).
        steps_per_execution: ``training.steps_per_execution`` (Keras).
        early_stopping: ``training.early_stopping`` (``patience``; the
            validation samples are in ``folds``).
        run_environment: the ``run_environment`` dataset (its CPU flags pick
            the precision ``auto`` resolves to).

    Returns:
        The test predictions of every fold (``level`` frame or clip), with the
        settings behind them (``evaluation.SETTINGS_COLUMNS``), and the model
        fitted on every subject (the ``final`` fold), for inference.
    """
    if int(n_seeds) < 1:
        raise ValueError(f"training.n_seeds is {n_seeds}: it must be 1 or more")
    spec = MODELS[model]
    inputs = ModelInputs.from_arrays(model_inputs)
    all_folds = list(iter_folds(folds, spec.level))
    tables, final = [], None
    for run_seed in range(int(seed), int(seed) + int(n_seeds)):
        # the all-subjects (final) model is fitted once, with the first seed
        fold_list = [f for f in all_folds if run_seed == seed or f.protocol != FINAL]
        evaluation = ModelEvaluation(
            name=model,
            spec=spec,
            options=options,
            inputs=inputs,
            settings=FitSettings(
                seed=run_seed,
                class_weight="balanced" if class_weight == "balanced" else None,
                precision=resolve_precision(precision, run_environment["cpu"]["flags"]),
                steps_per_execution=int(steps_per_execution),
                patience=int(early_stopping["patience"]),
            ),
            n_folds=len(fold_list),
        )
        results = map_tasks(
            partial(fit_one_fold, evaluation), list(enumerate(fold_list, start=1))
        )
        tables += [
            table.assign(seed=run_seed) for table, _ in results if table is not None
        ]
        if final is None:
            final = next((f for _, f in results if f is not None), None)
    predictions = concat_predictions(tables, inputs)
    if "seed" not in predictions.columns:  # no test rows at all
        predictions["seed"] = np.array([], np.int64)
    predictions = predictions.assign(**run_settings(spec, options, inputs, n_seeds))
    return predictions, final


def _check_settings_columns(predictions: pd.DataFrame) -> None:
    missing = [c for c in [*SETTINGS_COLUMNS, "seed"] if c not in predictions.columns]
    if missing:
        raise ValueError(
            f"predictions lack the settings columns {missing}: they were written by "
            "an older version of the training stage; re-run its train_<model> nodes"
        )


def pool_predictions(*predictions: pd.DataFrame) -> pd.DataFrame:
    """Every model's predictions, with clip rows derived from frame rows.

    A clip's probabilities are the mean of its test frames' probabilities in
    that fold; its prediction is their argmax. Rows have ``level`` ``frame`` or
    ``clip`` (clip rows: ``frame`` and ``aug_id`` are -1). Clip-level models
    (the flow baseline) come with clip rows only and pass through.
    """
    table = pd.concat(
        [p for p in predictions if len(p)] or list(predictions[:1]), ignore_index=True
    )
    _check_settings_columns(table)
    given_clips = table[table["level"] == "clip"]
    frames = table[table["level"] == "frame"]
    probability_columns = [c for c in frames.columns if c.startswith("prob_")]
    classes = np.array([c.removeprefix("prob_") for c in probability_columns])
    keys = [
        "data_source",
        "embedding_weights",
        *SETTINGS_COLUMNS,
        "dataset",
        "protocol",
        "model",
        "seed",
        "fold",
        "subject",
        "partition",
        "clip",
        "y_true",
    ]
    clips = frames.groupby(keys, sort=False, as_index=False)[probability_columns].mean()
    clips["level"] = "clip"
    clips["frame"] = -1
    clips["aug_id"] = -1
    clips["y_pred"] = (
        classes[np.argmax(clips[probability_columns].to_numpy(), axis=1)]
        if len(clips)
        else []
    )
    return pd.concat([frames, given_clips, clips[table.columns]], ignore_index=True)


def compute_metrics(predictions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pooled metrics and confusion-matrix counts per protocol x model x level.

    Metrics are computed per seed (``training.n_seeds``) and averaged;
    ``uf1_sd`` / ``uar_sd`` are their sd over seeds (NaN for one seed).
    ``n_samples`` counts one seed's rows; confusion counts sum over seeds.

    Returns:
        ``metrics``: one row per (protocol, model, level) with ``data_source``
        (synthetic / real), the settings behind it (``embedding_weights``,
        ``settings``, ``image_size``, ``epochs``, ``n_seeds``), ``n_samples``, ``n_folds``, accuracy, UF1, UAR,
        macro precision, weighted F1 and the chance levels;
        ``confusion_matrices``: the same keys x (y_true, y_pred) with counts.
    """
    _check_settings_columns(predictions)
    classes = [
        c.removeprefix("prob_") for c in predictions.columns if c.startswith("prob_")
    ]
    metric_rows, confusion_tables = [], []
    for key, group in predictions.groupby(GROUP_COLUMNS, sort=False):
        meta = dict(zip(GROUP_COLUMNS, key))
        per_seed = pd.DataFrame(
            [
                classification_metrics(rows["y_true"], rows["y_pred"], classes)
                for _, rows in group.groupby("seed", sort=True)
            ]
        )
        first_seed = group[group["seed"] == group["seed"].min()]
        metric_rows.append(
            {
                **meta,
                "n_samples": len(first_seed),
                "n_folds": group["fold"].nunique(),
                "n_classes": len(classes),
                **per_seed.mean().to_dict(),
                # sd over seeds (ddof 1): undefined (NaN) for a single seed
                **{f"{m}_sd": per_seed[m].std() for m in SEED_SD_COLUMNS},
            }
        )
        confusion_tables.append(
            confusion_counts(group["y_true"], group["y_pred"], classes).assign(**meta)
        )
    columns = (
        GROUP_COLUMNS
        + ["n_samples", "n_folds", "n_classes"]
        + METRIC_COLUMNS
        + [f"{m}_sd" for m in SEED_SD_COLUMNS]
    )
    metrics = pd.DataFrame(metric_rows, columns=columns)
    confusion = (
        pd.concat(confusion_tables, ignore_index=True)[
            GROUP_COLUMNS + ["y_true", "y_pred", "count"]
        ]
        if confusion_tables
        else pd.DataFrame(columns=GROUP_COLUMNS + ["y_true", "y_pred", "count"])
    )
    return metrics, confusion
