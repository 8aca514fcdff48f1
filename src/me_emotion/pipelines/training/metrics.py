"""The pooled metrics now live in :mod:`me_emotion.core.metrics` (the evaluation stage uses them too)."""

from me_emotion.core.metrics import (
    METRIC_COLUMNS,
    chance_levels,
    classification_metrics,
    confusion_counts,
    uar,
    uf1,
)

__all__ = [
    "METRIC_COLUMNS",
    "chance_levels",
    "classification_metrics",
    "confusion_counts",
    "uar",
    "uf1",
]
