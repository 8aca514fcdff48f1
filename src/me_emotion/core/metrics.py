"""Pooled metrics: UF1, UAR and friends, from scikit-learn, with every class counted.

UF1 and UAR follow the field's convention (MEGC): predictions of every fold are
pooled first, then UF1 = mean over classes of the per-class F1 (scikit-learn's
macro F1) and UAR = mean per-class recall (macro recall). ``labels=`` always
lists every class, so a class that a fold, or the whole pooled set, never
predicts still counts (with F1 0).

:func:`uf1_uar_from_confusion` computes the same two figures from confusion
counts for many pooled sets at once (the evaluation stage's bootstraps); a
test holds it equal to :func:`uf1` / :func:`uar`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)

METRIC_COLUMNS = [
    "accuracy",
    "uf1",
    "uar",
    "macro_precision",
    "weighted_f1",
    "chance_accuracy",
    "chance_uf1",
    "chance_uar",
]


def uf1(y_true: Sequence, y_pred: Sequence, labels: Sequence) -> float:
    """Unweighted F1: mean per-class F1 over ``labels`` (a missing class scores 0)."""
    return float(
        f1_score(y_true, y_pred, labels=list(labels), average="macro", zero_division=0)
    )


def uar(y_true: Sequence, y_pred: Sequence, labels: Sequence) -> float:
    """Unweighted average recall: mean per-class recall over ``labels``."""
    return float(
        recall_score(
            y_true, y_pred, labels=list(labels), average="macro", zero_division=0
        )
    )


def chance_levels(y_true: Sequence, labels: Sequence) -> dict[str, float]:
    """What guessing scores on these labels.

    - ``chance_accuracy``: always predicting the most frequent class;
    - ``chance_uar``: ``1 / K``, what any constant or uniformly random guess scores;
    - ``chance_uf1``: expected UF1 of a uniformly random guess,
      mean over classes of ``2 p_c / (K p_c + 1)`` (``p_c``: the class's share).
    """
    y = pd.Series(list(y_true))
    k = len(labels)
    if not len(y):
        return {"chance_accuracy": np.nan, "chance_uf1": np.nan, "chance_uar": np.nan}
    share = (
        y.value_counts(normalize=True).reindex(list(labels), fill_value=0.0).to_numpy()
    )
    return {
        "chance_accuracy": float(share.max()),
        "chance_uf1": float(np.mean(2 * share / (k * share + 1))),
        "chance_uar": 1.0 / k,
    }


def classification_metrics(
    y_true: Sequence, y_pred: Sequence, labels: Sequence
) -> dict[str, float]:
    """Accuracy, UF1, UAR, macro precision, weighted F1 and the chance levels."""
    labels = list(labels)
    if not len(y_true):
        return dict.fromkeys(METRIC_COLUMNS, np.nan)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "uf1": uf1(y_true, y_pred, labels),
        "uar": uar(y_true, y_pred, labels),
        "macro_precision": float(
            precision_score(
                y_true, y_pred, labels=labels, average="macro", zero_division=0
            )
        ),
        "weighted_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)
        ),
        **chance_levels(y_true, labels),
    }


def confusion_counts(
    y_true: Sequence, y_pred: Sequence, labels: Sequence
) -> pd.DataFrame:
    """Long table ``y_true, y_pred, count`` with every label pair (zeros included)."""
    labels = list(labels)
    matrix = (
        confusion_matrix(y_true, y_pred, labels=labels)
        if len(y_true)
        else np.zeros((len(labels),) * 2, int)
    )
    return pd.DataFrame(
        [
            {"y_true": t, "y_pred": p, "count": int(matrix[i, j])}
            for i, t in enumerate(labels)
            for j, p in enumerate(labels)
        ]
    )


def uf1_uar_from_confusion(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UF1 and UAR of stacked confusion matrices, vectorised.

    Args:
        confusion: counts ``(..., K, K)``, rows true class, columns predicted,
            over every class of ``labels`` (as :func:`confusion_counts` orders them).

    Returns:
        ``(uf1, uar)``, each of shape ``confusion.shape[:-2]``: exactly
        :func:`uf1` and :func:`uar` of the pooled predictions each matrix counts
        (per-class F1 ``2 TP / (2 TP + FP + FN)``, recall ``TP / (TP + FN)``, 0
        where undefined, then the mean over the K classes).
    """
    counts = np.asarray(confusion, np.float64)
    true_positive = np.diagonal(counts, axis1=-2, axis2=-1)
    true_total = counts.sum(axis=-1)  # TP + FN
    predicted_total = counts.sum(axis=-2)  # TP + FP
    f1_denominator = true_total + predicted_total
    f1 = np.divide(
        2 * true_positive,
        f1_denominator,
        out=np.zeros_like(true_positive),
        where=f1_denominator > 0,
    )
    recall = np.divide(
        true_positive,
        true_total,
        out=np.zeros_like(true_positive),
        where=true_total > 0,
    )
    return f1.mean(axis=-1), recall.mean(axis=-1)
