"""Nodes of the evaluation stage: per-subject figures, bootstrap intervals, paired comparisons.

Both read ``{namespace}.predictions`` (the training stage's test predictions,
every protocol and model) and ``params:evaluation_statistics``
(conf/base/parameters_evaluation.yml). The unit of every figure here is the
subject (see :mod:`.statistics`).
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pandas as pd

from .statistics import (
    bootstrap_protocol,
    metrics_by_subject,
    prediction_classes,
    subject_draws,
)

PARAMETER_FILE = "conf/base/parameters_evaluation.yml"


def _rows_at_level(predictions: pd.DataFrame, level: str) -> pd.DataFrame:
    rows = predictions[predictions["level"] == level]
    if rows.empty:
        raise ValueError(
            f"the predictions hold no rows at level {level!r} (levels: "
            f"{sorted(set(predictions['level']))}); set evaluation_statistics.level "
            f"in {PARAMETER_FILE} to one of them"
        )
    return rows


def tabulate_subject_metrics(
    predictions: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Each test subject's figures per protocol x model (for LOSO: each fold's).

    Returns:
        One row per (protocol, model, dataset, subject) at ``params["level"]``:
        ``fold`` (the folds the subject was tested in), ``n_samples``,
        ``n_classes_present``, accuracy, and UF1 / UAR over the subject's own classes.
    """
    return metrics_by_subject(
        _rows_at_level(predictions, params["level"]), prediction_classes(predictions)
    )


def bootstrap_over_subjects(
    predictions: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bootstrap intervals over subjects, and each model paired against the reference.

    Args:
        predictions: ``{namespace}.predictions``.
        params: ``level``, ``n_bootstrap``, ``confidence``, ``seed``,
            ``reference_model``.

    Returns:
        ``intervals``: one row per protocol x model: the pooled UF1 and UAR
        (as in ``{namespace}.metrics``: the mean over training seeds) with
        ``_low`` / ``_high`` bounds of the ``confidence`` percentile interval
        over ``n_bootstrap`` subject resamples (each seed scored on the same
        resampled subjects, then averaged), and ``n_seeds``;
        ``comparison``: one row per protocol x model other than the reference:
        the UF1 / UAR difference (model minus reference) with its paired
        interval, ``*_share_not_better`` (the share of resamples where the
        difference is <= 0), ``*_p_value`` (two-sided bootstrap p-value) and
        ``*_p_holm`` (Holm-adjusted over the protocol's ``n_comparisons``).

    Raises:
        ValueError: ``n_bootstrap`` < 1, ``confidence`` outside (0, 1), or the
        reference model missing from a protocol.
    """
    n_bootstrap, confidence = int(params["n_bootstrap"]), float(params["confidence"])
    if n_bootstrap < 1 or not 0 < confidence < 1:
        raise ValueError(
            f"evaluation_statistics needs n_bootstrap >= 1 and 0 < confidence < 1, "
            f"got {n_bootstrap} and {confidence} (see {PARAMETER_FILE})"
        )
    rows = _rows_at_level(predictions, params["level"])
    classes = prediction_classes(predictions)
    intervals, comparisons = [], []
    for protocol, group in rows.groupby("protocol", sort=False):
        # one generator per protocol, seeded by its name: stable whatever else runs
        rng = np.random.default_rng(
            [int(params["seed"]), zlib.crc32(protocol.encode())]
        )
        found, compared = bootstrap_protocol(
            group,
            classes,
            params["reference_model"],
            lambda n, rng=rng: subject_draws(n, n_bootstrap, rng),
            confidence,
        )
        intervals += found
        comparisons += compared
    settings = {"n_bootstrap": n_bootstrap, "confidence": confidence}
    return (
        pd.DataFrame(intervals).assign(**settings),
        pd.DataFrame(comparisons).assign(**settings),
    )
