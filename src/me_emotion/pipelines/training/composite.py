"""The MEGC 2019 composite (its CASME-II + SAMM part): clips, labels and per-dataset figures.

- ``composite.clip_labels`` comes from the two clip indexes (and the
  challenge's list when ``composite_list_file`` is set) alone, so it can be
  computed and checked without features:
  ``kedro run --pipelines=composite --to-outputs=composite.clip_labels``.
- Each dataset's part of the composite reads its clip index relabelled from
  ``clip_labels`` (membership and the 3-class label), so the training stage's
  own label derivation (``class_map: null``) simply follows it.
- ``composite.figures_by_dataset`` breaks the pooled predictions down as
  MEGC reports them: UF1/UAR of the composite LOSO on each source dataset's
  clips, and each direction of the ``cross_dataset`` transfer.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from kedro.pipeline import Node, Pipeline

from me_emotion.core.composite import COMPOSITE_CLASSES, composite_clip_labels
from me_emotion.core.metrics import classification_metrics

from .evaluation import SETTINGS_COLUMNS
from .protocols import CROSS_DATASET

logger = logging.getLogger(__name__)

PROTOCOL_NAMES = {
    "composite": "MEGC 2019 composite, CASME-II + SAMM part (LOSO)",
    CROSS_DATASET: "cross-dataset transfer (train on one dataset, test on the other)",
}
COUNT_COLUMNS = ["dataset", "source", *COMPOSITE_CLASSES, "clips", "subjects"]
FIGURE_KEYS = [
    "data_source",
    "embedding_weights",
    *SETTINGS_COLUMNS,
    "protocol",
    "model",
    "level",
]
FIGURE_COLUMNS = [
    *FIGURE_KEYS,
    "evaluation",
    "train_dataset",
    "test_dataset",
    "n_samples",
    "n_subjects",
    "accuracy",
    "uf1",
    "uar",
    "chance_uf1",
    "chance_uar",
]


def build_clip_labels(
    composite_list: pd.DataFrame | None,
    params: dict[str, Any],
    *clip_indexes: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``composite.clip_labels`` and ``composite.clip_label_rejects`` from the clip indexes.

    Args:
        composite_list: the challenge's list, or None (class maps decide).
        params: ``composite.labels`` (``class_maps``).
        clip_indexes: one clip index per dataset (named by its ``dataset`` column).
    """
    indexes = {
        str(index["dataset"].iloc[0]): index for index in clip_indexes if len(index)
    }
    labels, rejects = composite_clip_labels(indexes, composite_list, params)
    if len(rejects):
        logger.warning(
            "composite list: %d row(s) not used (composite.clip_label_rejects): %s",
            len(rejects),
            rejects.groupby("dataset")["reason"].first().to_dict(),
        )
    logger.info(
        "composite clips: %s",
        labels.groupby(["dataset", "source"]).size().to_dict(),
    )
    return labels, rejects


def count_classes(clip_labels: pd.DataFrame) -> pd.DataFrame:
    """3-class clip counts per dataset and label source, plus an ``all`` row."""
    rows = []
    groups = list(clip_labels.groupby(["dataset", "source"], sort=True))
    sources = ", ".join(sorted(set(clip_labels["source"])))
    for (dataset, source), group in [*groups, (("all", sources), clip_labels)]:
        counts = group["label"].value_counts()
        rows.append(
            {
                "dataset": dataset,
                "source": source,
                **{c: int(counts.get(c, 0)) for c in COMPOSITE_CLASSES},
                "clips": len(group),
                "subjects": group[["dataset", "subject"]].drop_duplicates().shape[0],
            }
        )
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


def label_clip_index(
    clip_index: pd.DataFrame, clip_labels: pd.DataFrame, vgg_embeddings: pd.DataFrame
) -> pd.DataFrame:
    """One dataset's clip index with ``label`` = its composite label (None: not a member).

    Raises:
        ValueError: a composite clip that has no embeddings although the
            feature stage saw its face crops' clips (a stale feature run).
    """
    dataset = str(clip_index["dataset"].iloc[0]) if len(clip_index) else "(empty)"
    mine = clip_labels[clip_labels["dataset"] == dataset]
    label_of = dict(zip(zip(mine["subject"], mine["clip"]), mine["label"]))
    keys = list(zip(clip_index["subject"].astype(str), clip_index["clip"].astype(str)))
    featurised = set(zip(vgg_embeddings["subject"], vgg_embeddings["clip"]))
    missing = sorted(f"{s}/{c}" for s, c in label_of if (s, c) not in featurised)
    if missing:
        logger.warning(
            "%s: %d composite clip(s) have no features and are left out of the "
            "composite: %s. A face-detection reject (%s.face_rejects) explains "
            "some; otherwise re-run `kedro run --pipelines=%s` so the feature "
            "stage featurises the composite's clips",
            dataset,
            len(missing),
            missing[:10],
            dataset,
            dataset,
        )
    return clip_index.assign(label=[label_of.get(key) for key in keys])


def figures_by_dataset(predictions: pd.DataFrame) -> pd.DataFrame:
    """UF1/UAR of the composite LOSO per source dataset, and of each transfer direction.

    Composite LOSO rows pool every fold's predictions on one dataset's clips
    (as MEGC 2019 reports CASME-II and SAMM separately); ``cross_dataset``
    rows are one per fold (``<train>_to_<test>``), never pooled over directions.
    """
    classes = [c.removeprefix("prob_") for c in predictions if c.startswith("prob_")]
    rows = []
    loso = predictions[predictions["protocol"] == "composite"]
    for key, group in loso.groupby([*FIGURE_KEYS, "dataset"], sort=True):
        meta = dict(zip(FIGURE_KEYS, key[:-1]))
        rows.append(
            {
                **meta,
                "evaluation": f"{PROTOCOL_NAMES['composite']}, {key[-1]} clips",
                "train_dataset": "all",
                "test_dataset": key[-1],
                **_figures(group, classes),
            }
        )
    transfer = predictions[predictions["protocol"] == CROSS_DATASET]
    for key, group in transfer.groupby([*FIGURE_KEYS, "fold"], sort=True):
        meta = dict(zip(FIGURE_KEYS, key[:-1]))
        train, _, test = str(key[-1]).partition("_to_")
        rows.append(
            {
                **meta,
                "evaluation": f"cross-dataset transfer: trained on {train}, "
                f"tested on {test}",
                "train_dataset": train,
                "test_dataset": test,
                **_figures(group, classes),
            }
        )
    return pd.DataFrame(rows, columns=FIGURE_COLUMNS)


def _figures(group: pd.DataFrame, classes: list[str]) -> dict[str, Any]:
    scores = classification_metrics(group["y_true"], group["y_pred"], classes)
    return {
        "n_samples": len(group),
        "n_subjects": group["subject"].nunique(),
        **{name: scores[name] for name in FIGURE_COLUMNS if name in scores},
    }


def clip_labels_pipeline(datasets: tuple[str, ...]) -> Pipeline:
    """Clip indexes (+ list) -> ``composite.clip_labels``, its rejects and class counts;
    each dataset's clip index relabelled for its part of the composite."""
    relabel = [
        Node(
            func=label_clip_index,
            inputs=[
                f"clip_index_{dataset}",
                "clip_labels",
                f"vgg_embeddings_{dataset}",
            ],
            outputs=f"labelled_clip_index_{dataset}",
            name=f"label_clip_index_{dataset}",
        )
        for dataset in datasets
    ]
    nodes = [
        Node(
            func=build_clip_labels,
            inputs=[
                "composite_list",
                "params:labels",
                *(f"clip_index_{dataset}" for dataset in datasets),
            ],
            outputs=["clip_labels", "clip_label_rejects"],
            name="build_clip_labels",
        ),
        Node(
            func=count_classes,
            inputs="clip_labels",
            outputs="class_counts",
            name="count_classes",
        ),
        *relabel,
    ]
    shared = {"composite_list": "composite_list"} | {
        f"{name}_{dataset}": f"{dataset}.{name}"
        for dataset in datasets
        for name in ("clip_index", "vgg_embeddings")
    }
    return Pipeline(nodes, namespace="composite", inputs=shared)


def figures_pipeline() -> Pipeline:
    """``composite.predictions`` -> ``composite.figures_by_dataset``."""
    node = Node(
        func=figures_by_dataset,
        inputs="predictions",
        outputs="figures_by_dataset",
        name="figures_by_dataset",
    )
    return Pipeline([node], namespace="composite")
