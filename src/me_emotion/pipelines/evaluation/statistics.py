"""Per-subject figures and bootstraps over subjects: pure functions on prediction rows.

Clips of one subject are not independent samples (same face, same session), so
the unit of resampling is the subject: a bootstrap resample draws ``n``
subjects with replacement from the ``n`` test subjects of a protocol and pools
every clip of each drawn subject (a subject drawn twice counts twice). UF1 and
UAR of a resample are computed from the summed per-subject confusion matrices
(:func:`me_emotion.core.metrics.uf1_uar_from_confusion`, equal to the pooled
scikit-learn figures), so 1000 resamples of every model cost milliseconds.

Every model of a protocol is evaluated on the same resamples, which makes the
comparison with the reference model paired: a subject that every model finds
hard moves both figures together and cancels in the difference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from me_emotion.core.metrics import uar, uf1, uf1_uar_from_confusion

META_COLUMNS = ["data_source", "embedding_weights", "protocol", "model", "level"]
SUBJECT_COLUMNS = ["dataset", "subject"]


def prediction_classes(predictions: pd.DataFrame) -> list[str]:
    """The classes of a predictions table, in its ``prob_<class>`` column order."""
    return [
        c.removeprefix("prob_") for c in predictions.columns if c.startswith("prob_")
    ]


def subject_confusions(
    rows: pd.DataFrame, classes: Sequence[str], subjects: pd.MultiIndex
) -> np.ndarray:
    """Confusion counts ``(n_subjects, K, K)`` of ``rows``, one matrix per subject.

    Args:
        rows: prediction rows (``dataset``, ``subject``, ``y_true``, ``y_pred``).
        classes: the K classes, in matrix order.
        subjects: ``(dataset, subject)`` pairs, in output order; a subject
            without rows gets a zero matrix.

    Raises:
        ValueError: a row's label or a subject outside ``classes`` / ``subjects``.
    """
    position = {label: k for k, label in enumerate(classes)}
    unknown = sorted((set(rows["y_true"]) | set(rows["y_pred"])) - set(position))
    if unknown:
        raise ValueError(
            f"prediction labels {unknown} are not among the classes {list(classes)} "
            "of the prob_ columns: the predictions table is inconsistent; rerun training"
        )
    subject = subjects.get_indexer(pd.MultiIndex.from_frame(rows[SUBJECT_COLUMNS]))
    if (subject < 0).any():
        raise ValueError("prediction rows of a subject outside the subject list")
    counts = np.zeros((len(subjects), len(classes), len(classes)), np.int64)
    np.add.at(
        counts,
        (subject, rows["y_true"].map(position), rows["y_pred"].map(position)),
        1,
    )
    return counts


def subject_draws(
    n_subjects: int, n_bootstrap: int, rng: np.random.Generator
) -> np.ndarray:
    """How often each subject is drawn in each resample, ``(n_bootstrap, n_subjects)``.

    Each row is ``n_subjects`` draws with replacement from the subjects (a
    multinomial with equal shares), so every row sums to ``n_subjects``.
    """
    if n_subjects < 1:
        raise ValueError("a bootstrap over subjects needs at least one subject")
    return rng.multinomial(
        n_subjects, np.full(n_subjects, 1.0 / n_subjects), n_bootstrap
    )


def bootstrap_uf1_uar(
    confusions: np.ndarray, draws: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """UF1 and UAR of each resample, ``(n_bootstrap,)`` each.

    Args:
        confusions: per-subject confusion counts ``(n_subjects, K, K)``.
        draws: :func:`subject_draws` ``(n_bootstrap, n_subjects)``.
    """
    pooled = np.einsum("bs,skl->bkl", draws, confusions)
    return uf1_uar_from_confusion(pooled)


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    """The bootstrap percentile interval holding ``confidence`` of ``samples``."""
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(samples, [tail, 1.0 - tail])
    return float(low), float(high)


def metrics_by_subject(rows: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    """One row per protocol x model x subject: its folds, clip count, accuracy, UF1, UAR.

    A subject rarely shows every class, so its UF1 and UAR average over the
    classes among its own clips' labels (``n_classes_present``); a prediction of
    another class still counts as an error. Pooled figures (every class) are in
    ``{namespace}.metrics``.
    """
    records = []
    for key, group in rows.groupby(META_COLUMNS + SUBJECT_COLUMNS, sort=False):
        present = [c for c in classes if c in set(group["y_true"])]
        records.append(
            {
                **dict(zip(META_COLUMNS + SUBJECT_COLUMNS, key)),
                "fold": ",".join(sorted(set(group["fold"].astype(str)))),
                "n_samples": len(group),
                "n_classes_present": len(present),
                "accuracy": float((group["y_true"] == group["y_pred"]).mean()),
                "uf1": uf1(group["y_true"], group["y_pred"], present),
                "uar": uar(group["y_true"], group["y_pred"], present),
            }
        )
    columns = (
        META_COLUMNS
        + SUBJECT_COLUMNS
        + [
            "fold",
            "n_samples",
            "n_classes_present",
            "accuracy",
            "uf1",
            "uar",
        ]
    )
    return pd.DataFrame(records, columns=columns)


def _interval_columns(
    name: str, estimate: float, samples: np.ndarray, confidence: float
):
    low, high = percentile_interval(samples, confidence)
    return {name: estimate, f"{name}_low": low, f"{name}_high": high}


def bootstrap_protocol(
    rows: pd.DataFrame,
    classes: Sequence[str],
    reference_model: str,
    draws_for: Callable[[int], np.ndarray],
    confidence: float,
) -> tuple[list[dict], list[dict]]:
    """Intervals of every model and paired differences to ``reference_model``, one protocol.

    Args:
        rows: the protocol's prediction rows (every model, one level).
        classes: the K classes.
        reference_model: the model every other is compared with.
        draws_for: ``n_subjects -> draws`` (:func:`subject_draws` with the seeded
            generator), called once, so every model sees the same resamples.
        confidence: e.g. 0.95.

    Returns:
        ``(interval rows, comparison rows)`` as lists of records.

    Raises:
        ValueError: ``reference_model`` has no rows in this protocol.
    """
    protocol = rows["protocol"].iloc[0]
    models = list(dict.fromkeys(rows["model"]))
    if reference_model not in models:
        raise ValueError(
            f"reference model {reference_model!r} has no predictions under protocol "
            f"{protocol!r} (models: {models}); set reference_model in "
            "conf/base/parameters_evaluation.yml to one of them"
        )
    subjects = pd.MultiIndex.from_frame(
        rows[SUBJECT_COLUMNS].drop_duplicates().sort_values(SUBJECT_COLUMNS)
    )
    draws = draws_for(len(subjects))
    samples, estimates, intervals = {}, {}, []
    for key, group in rows.groupby(META_COLUMNS, sort=False):
        model = key[META_COLUMNS.index("model")]
        f1_samples, recall_samples = bootstrap_uf1_uar(
            subject_confusions(group, classes, subjects), draws
        )
        estimate = {
            "uf1": uf1(group["y_true"], group["y_pred"], classes),
            "uar": uar(group["y_true"], group["y_pred"], classes),
        }
        samples[model] = {"uf1": f1_samples, "uar": recall_samples}
        estimates[model] = estimate
        intervals.append(
            {
                **dict(zip(META_COLUMNS, key)),
                "n_subjects": group[SUBJECT_COLUMNS].drop_duplicates().shape[0],
                "n_samples": len(group),
                **_interval_columns("uf1", estimate["uf1"], f1_samples, confidence),
                **_interval_columns("uar", estimate["uar"], recall_samples, confidence),
            }
        )
    comparisons = []
    for record in intervals:
        model = record["model"]
        if model == reference_model:
            continue
        row = {key: record[key] for key in META_COLUMNS}
        row["reference_model"] = reference_model
        row["n_subjects"] = len(subjects)
        for metric in ("uf1", "uar"):
            difference = samples[model][metric] - samples[reference_model][metric]
            row |= _interval_columns(
                f"{metric}_difference",
                estimates[model][metric] - estimates[reference_model][metric],
                difference,
                confidence,
            )
            row[f"{metric}_share_not_better"] = float(np.mean(difference <= 0))
        comparisons.append(row)
    return intervals, comparisons
