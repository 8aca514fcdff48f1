"""Reporting fixtures: hand-made metrics and confusion tables in the training stage's format."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from me_emotion.pipelines.reporting.nodes import summarise_data_source
from tests.conftest import conf_parameters

CLASSES = ["happiness", "disgust", "surprise"]
MODELS = ["hybrid_micronet", "ann", "svm", "flow_cnn", "au_enhanced"]
PROTOCOLS = ["paper_random_split", "loso"]
WEIGHTS = "hed (VGG-16 conv layers of HED, BSDS500)"


def _counts(model: int, protocol: int, level: int) -> np.ndarray:
    """A deterministic 3x3 count matrix; the random split is the more diagonal one."""
    rng = np.random.default_rng(100 * model + 10 * protocol + level)
    counts = rng.integers(0, 4, size=(3, 3))
    counts[np.diag_indices(3)] += 6 if protocol == 0 else 2
    return counts


@pytest.fixture
def confusion_matrices() -> pd.DataFrame:
    """Long table: data_source, embedding_weights, protocol, model, level, y_true, y_pred, count."""
    rows = []
    for m, model in enumerate(MODELS):
        for p, protocol in enumerate(PROTOCOLS):
            levels = ["clip"] if model == "flow_cnn" else ["frame", "clip"]
            for level in levels:
                counts = _counts(m, p, levels.index(level))
                for i, true in enumerate(CLASSES):
                    for j, predicted in enumerate(CLASSES):
                        rows.append(
                            {
                                "data_source": "synthetic",
                                "embedding_weights": WEIGHTS,
                                "protocol": protocol,
                                "model": model,
                                "level": level,
                                "y_true": true,
                                "y_pred": predicted,
                                "count": int(counts[i, j]),
                            }
                        )
    return pd.DataFrame(rows)


@pytest.fixture
def metrics(confusion_matrices: pd.DataFrame) -> pd.DataFrame:
    """The training stage's metric columns, computed from the hand-made matrices."""
    keys = ["data_source", "embedding_weights", "protocol", "model", "level"]
    rows = []
    for key, group in confusion_matrices.groupby(keys, sort=False):
        matrix = group.pivot(index="y_true", columns="y_pred", values="count")
        matrix = matrix.loc[CLASSES, CLASSES].to_numpy()
        total = matrix.sum()
        recall = np.diag(matrix) / matrix.sum(axis=1)
        precision = np.diag(matrix) / np.maximum(matrix.sum(axis=0), 1)
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-9)
        share = matrix.sum(axis=1) / total
        rows.append(
            {
                **dict(zip(keys, key)),
                "n_samples": int(total),
                "n_folds": 1 if key[2] == "paper_random_split" else 3,
                "n_classes": 3,
                "accuracy": np.trace(matrix) / total,
                "uf1": f1.mean(),
                "uar": recall.mean(),
                "macro_precision": precision.mean(),
                "weighted_f1": float((f1 * share).sum()),
                "chance_accuracy": share.max(),
                "chance_uf1": float(np.mean(2 * share / (3 * share + 1))),
                "chance_uar": 1 / 3,
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture
def params() -> dict:
    """The project's casme2 reporting parameters."""
    return conf_parameters("reporting", "casme2", "reporting")


@pytest.fixture
def clip_index() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dataset": "casme2",
            "source": "synthetic",
            "subject": ["sub01", "sub01", "sub02", "sub03"],
            "clip": ["EP01", "EP02", "EP03", "EP04"],
            "label": ["happiness", "disgust", None, "surprise"],
        }
    )


@pytest.fixture
def data_source(clip_index: pd.DataFrame) -> dict:
    embeddings = pd.DataFrame(
        {
            "clip": ["EP01", "EP01", "EP02", "EP04"],
            "aug_id": [0, 1, 0, 0],
            "weights": WEIGHTS,
            "precision": "float32",
        }
    )
    return summarise_data_source(
        clip_index,
        pd.DataFrame({"reason": ["no frames folder"]}),
        pd.DataFrame(columns=["reason"]),
        embeddings,
        {
            "dataset": "casme2",
            "coding_file": "/x/CASME2-coding-20140508.xlsx",
            "class_set": "five_class",
        },
    )


SUBJECTS = ["sub01", "sub02", "sub03"]


def _row_keys(model: str) -> dict:
    """The evaluation stage's row keys: synthetic, LOSO, clip level."""
    return {
        "data_source": "synthetic",
        "embedding_weights": WEIGHTS,
        "protocol": "loso",
        "model": model,
        "level": "clip",
    }


@pytest.fixture
def bootstrap_intervals(metrics: pd.DataFrame) -> pd.DataFrame:
    """The evaluation stage's intervals at the clip level: uf1 +- (0.1 + model index / 100)."""
    clip = metrics[metrics.level == "clip"]
    rows = []
    for _, row in clip.iterrows():
        width = 0.1 + MODELS.index(row["model"]) / 100
        rows.append(
            {
                **{k: row[k] for k in ("data_source", "embedding_weights")},
                **{k: row[k] for k in ("protocol", "model", "level")},
                "n_subjects": 3,
                "n_samples": row["n_samples"],
                "uf1": row["uf1"],
                "uf1_low": row["uf1"] - width,
                "uf1_high": row["uf1"] + width,
                "uar": row["uar"],
                "uar_low": row["uar"] - width / 2,
                "uar_high": row["uar"] + width / 2,
                "n_bootstrap": 1000,
                "confidence": 0.95,
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture
def subject_metrics() -> pd.DataFrame:
    """Per-subject UF1 = model index / 10 + subject index / 100, clips = 4 + subject index."""
    rows = []
    for m, model in enumerate(MODELS):
        for s, subject in enumerate(SUBJECTS):
            rows.append(
                {
                    **_row_keys(model),
                    "dataset": "casme2",
                    "subject": subject,
                    "fold": subject,
                    "n_samples": 4 + s,
                    "n_classes_present": 2,
                    "accuracy": 0.5,
                    "uf1": m / 10 + s / 100,
                    "uar": 0.5,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def model_comparison() -> pd.DataFrame:
    """Each model other than hybrid_micronet: UF1 difference = model index / 10."""
    rows = []
    for m, model in enumerate(MODELS[1:], start=1):
        rows.append(
            {
                **_row_keys(model),
                "reference_model": "hybrid_micronet",
                "n_subjects": 3,
                "uf1_difference": m / 10,
                "uf1_difference_low": m / 10 - 0.25,
                "uf1_difference_high": m / 10 + 0.05,
                "uf1_share_not_better": 0.5 - m / 10,
                "uar_difference": -m / 10,
                "uar_difference_low": -m / 10 - 0.05,
                "uar_difference_high": -m / 10 + 0.05,
                "uar_share_not_better": 0.9,
                "uar_p_value": 0.2,
                "uar_p_holm": 1.0,
                "uf1_p_value": 0.01 * m,
                "uf1_p_holm": 0.03 * m,
                "n_comparisons": len(MODELS) - 1,
            }
        )
    return pd.DataFrame(rows)
