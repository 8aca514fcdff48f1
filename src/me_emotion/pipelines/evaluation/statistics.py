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

Training seeds (``training.n_seeds``, the ``seed`` column) are not extra
subjects: each seed's predictions are scored on the same subject draws and the
figures averaged over seeds, so the point estimate is the metrics table's mean
over seeds, and repeating identical predictions under more seeds changes
nothing. The paired comparisons of a protocol form one family per metric: their
bootstrap p-values are Holm-adjusted (:func:`holm_adjusted`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from me_emotion.core.metrics import uar, uf1, uf1_uar_from_confusion

META_COLUMNS = ["data_source", "embedding_weights", "protocol", "model", "level"]
SUBJECT_COLUMNS = ["dataset", "subject"]
SEED_COLUMN = "seed"  # the training seed of a prediction row (training.n_seeds)


def seed_groups(rows: pd.DataFrame) -> list[pd.DataFrame]:
    """``rows`` split by training seed, in seed order (one group without a seed column)."""
    if SEED_COLUMN not in rows.columns:
        return [rows]
    return [group for _, group in rows.groupby(SEED_COLUMN, sort=True)]


def holm_adjusted(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values, in their input order.

    The i-th smallest of m p-values is multiplied by ``m - i + 1`` (i from 1),
    made non-decreasing along the sorted order and capped at 1: rejecting where
    the adjusted value is <= alpha keeps the family-wise error rate at alpha.
    """
    p = np.asarray(p_values, np.float64)
    order = np.argsort(p, kind="stable")
    steps = len(p) - np.arange(len(p))  # m, m - 1, ..., 1
    adjusted = np.minimum(1.0, np.maximum.accumulate(steps * p[order]))
    out = np.empty_like(p)
    out[order] = adjusted
    return out


def bootstrap_p_value(differences: np.ndarray) -> float:
    """Two-sided bootstrap p-value of "no difference" from resampled differences.

    Twice the smaller share of resamples on either side of 0 (0 counts on both
    sides), each share counted as ``(k + 1) / (B + 1)`` so that B resamples
    never give p = 0; capped at 1.
    """
    n = len(differences)
    not_above = (np.count_nonzero(differences <= 0) + 1) / (n + 1)
    not_below = (np.count_nonzero(differences >= 0) + 1) / (n + 1)
    return float(min(1.0, 2.0 * min(not_above, not_below)))


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
    ``{namespace}.metrics``. With several training seeds the figures are each
    seed's, averaged; ``n_samples`` counts one seed's rows.
    """
    records = []
    for key, group in rows.groupby(META_COLUMNS + SUBJECT_COLUMNS, sort=False):
        present = [c for c in classes if c in set(group["y_true"])]
        per_seed = seed_groups(group)
        records.append(
            {
                **dict(zip(META_COLUMNS + SUBJECT_COLUMNS, key)),
                "fold": ",".join(sorted(set(group["fold"].astype(str)))),
                "n_samples": len(per_seed[0]),
                "n_classes_present": len(present),
                "accuracy": float(
                    np.mean([(s["y_true"] == s["y_pred"]).mean() for s in per_seed])
                ),
                "uf1": float(
                    np.mean([uf1(s["y_true"], s["y_pred"], present) for s in per_seed])
                ),
                "uar": float(
                    np.mean([uar(s["y_true"], s["y_pred"], present) for s in per_seed])
                ),
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


def bootstrap_over_seeds(
    rows: pd.DataFrame,
    classes: Sequence[str],
    subjects: pd.MultiIndex,
    draws: np.ndarray,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """One model's UF1 / UAR and their resamples, each averaged over training seeds.

    Every seed is scored on the same subject ``draws``; the point estimate is
    the mean over seeds of the pooled figures (the metrics table's).

    Returns:
        ``({"uf1": estimate, "uar": estimate}, {"uf1": (n_bootstrap,), "uar": ...})``
    """
    estimates, samples = [], []
    for seed_rows in seed_groups(rows):
        estimates.append(
            (
                uf1(seed_rows["y_true"], seed_rows["y_pred"], classes),
                uar(seed_rows["y_true"], seed_rows["y_pred"], classes),
            )
        )
        samples.append(
            bootstrap_uf1_uar(subject_confusions(seed_rows, classes, subjects), draws)
        )
    estimate = np.mean(estimates, axis=0)
    resampled = np.mean(samples, axis=0)  # (2, n_bootstrap)
    return (
        {"uf1": float(estimate[0]), "uar": float(estimate[1])},
        {"uf1": resampled[0], "uar": resampled[1]},
    )


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
            generator), called once, so every model and seed sees the same resamples.
        confidence: e.g. 0.95.

    Returns:
        ``(interval rows, comparison rows)`` as lists of records. A comparison
        row carries, per metric, the difference with its interval, the share of
        resamples not better, the two-sided bootstrap p-value and its Holm
        adjustment over the protocol's comparisons.

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
        estimate, resampled = bootstrap_over_seeds(group, classes, subjects, draws)
        samples[model], estimates[model] = resampled, estimate
        per_seed = seed_groups(group)
        intervals.append(
            {
                **dict(zip(META_COLUMNS, key)),
                "n_subjects": group[SUBJECT_COLUMNS].drop_duplicates().shape[0],
                "n_samples": len(per_seed[0]),  # one seed's, as in the metrics table
                "n_seeds": len(per_seed),
                **_interval_columns(
                    "uf1", estimate["uf1"], resampled["uf1"], confidence
                ),
                **_interval_columns(
                    "uar", estimate["uar"], resampled["uar"], confidence
                ),
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
            row[f"{metric}_p_value"] = bootstrap_p_value(difference)
        comparisons.append(row)
    for metric in ("uf1", "uar"):  # one family per metric: the protocol's comparisons
        adjusted = holm_adjusted([row[f"{metric}_p_value"] for row in comparisons])
        for row, value in zip(comparisons, adjusted):
            row[f"{metric}_p_holm"] = float(value)
    for row in comparisons:
        row["n_comparisons"] = len(comparisons)  # the size of the Holm family
    return intervals, comparisons
