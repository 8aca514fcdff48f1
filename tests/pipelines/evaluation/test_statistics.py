"""Per-subject figures and subject bootstraps on hand-made predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner

from me_emotion.core.metrics import uf1
from me_emotion.pipelines.evaluation import create_pipeline
from me_emotion.pipelines.evaluation.nodes import (
    bootstrap_over_subjects,
    tabulate_subject_metrics,
)
from me_emotion.pipelines.evaluation.statistics import (
    bootstrap_p_value,
    bootstrap_uf1_uar,
    holm_adjusted,
    subject_confusions,
    subject_draws,
)
from me_emotion.pipelines.training.nodes import compute_metrics

CLASSES = ["a", "b", "c"]
PARAMS = {
    "level": "clip",
    "n_bootstrap": 500,
    "confidence": 0.95,
    "seed": 7,
    "reference_model": "ref",
}


def predictions(
    rows: list[tuple[str, str, str, str]], protocol: str = "loso"
) -> pd.DataFrame:
    """Clip rows from ``(model, subject, y_true, y_pred)``; LOSO fold = subject."""
    table = pd.DataFrame(rows, columns=["model", "subject", "y_true", "y_pred"])
    table["data_source"] = "synthetic"
    table["embedding_weights"] = "none"
    table["dataset"] = "casme2"
    table["protocol"] = protocol
    table["fold"] = table["subject"]
    table["level"] = "clip"
    table["clip"] = [f"clip{i}" for i in range(len(table))]
    for label in CLASSES:
        table[f"prob_{label}"] = (table["y_pred"] == label).astype(np.float32)
    return table


def same_subjects(model: str, n_subjects: int = 5) -> list[tuple[str, str, str, str]]:
    """Every subject: two a-clips (one right), one b-clip (right), one c-clip (wrong)."""
    pattern = [("a", "a"), ("a", "b"), ("b", "b"), ("c", "a")]
    return [
        (model, f"sub{s}", true, predicted)
        for s in range(n_subjects)
        for true, predicted in pattern
    ]


def test_identical_subjects_give_a_zero_width_interval():
    intervals, _ = bootstrap_over_subjects(predictions(same_subjects("ref")), PARAMS)
    (row,) = intervals.to_dict("records")
    assert row["uf1_low"] == pytest.approx(row["uf1"], abs=1e-12)
    assert row["uf1_high"] == pytest.approx(row["uf1"], abs=1e-12)
    assert row["uar_low"] == pytest.approx(row["uar_high"], abs=1e-12)
    assert row["uf1"] == pytest.approx(
        uf1(["a", "a", "b", "c"], ["a", "b", "b", "a"], CLASSES)
    )
    assert (row["n_subjects"], row["n_samples"], row["n_bootstrap"]) == (5, 20, 500)


def test_a_model_equal_to_the_reference_differs_by_exactly_zero():
    rng = np.random.default_rng(0)
    rows = [
        ("ref", f"sub{s}", rng.choice(CLASSES), rng.choice(CLASSES))
        for s in range(6)
        for _ in range(4)
    ]
    rows += [("copy", subject, true, pred) for _, subject, true, pred in rows]
    _, comparison = bootstrap_over_subjects(predictions(rows), PARAMS)
    (row,) = comparison.to_dict("records")
    assert row["model"] == "copy" and row["reference_model"] == "ref"
    for metric in ("uf1", "uar"):
        assert row[f"{metric}_difference"] == 0
        assert row[f"{metric}_difference_low"] == row[f"{metric}_difference_high"] == 0
        assert row[f"{metric}_share_not_better"] == 1.0


def test_a_model_better_on_every_subject_is_better_on_every_resample():
    rows = same_subjects("ref") + [
        ("perfect", f"sub{s}", true, true)
        for s in range(5)
        for true in ("a", "a", "b", "c")
    ]
    rows += [("ref", "sub9", "a", "b"), ("perfect", "sub9", "a", "a")]
    intervals, comparison = bootstrap_over_subjects(predictions(rows), PARAMS)
    (row,) = comparison.to_dict("records")
    assert row["uf1_difference_low"] > 0 and row["uf1_share_not_better"] == 0.0
    ref = intervals.set_index("model").loc["ref"]
    assert ref["uf1_low"] < ref["uf1_high"]  # sub9 differs from the others


def test_resampling_draws_whole_subjects_not_clips():
    """Two subjects (one all right, one all wrong): every resample is one of the
    three subject combinations; resampling clips would give many more values."""
    rows = [("ref", "good", t, t) for t in ("a", "b", "c")] + [
        ("ref", "bad", t, p) for t, p in (("a", "b"), ("b", "c"), ("c", "a"))
    ]
    table = predictions(rows)
    subjects = pd.MultiIndex.from_frame(
        table[["dataset", "subject"]].drop_duplicates().sort_values("subject")
    )
    draws = subject_draws(len(subjects), 300, np.random.default_rng(1))
    assert (draws.sum(axis=1) == 2).all()
    samples, _ = bootstrap_uf1_uar(subject_confusions(table, CLASSES, subjects), draws)

    def pooled(*names):
        part = pd.concat([table[table["subject"] == n] for n in names])
        return round(uf1(part["y_true"], part["y_pred"], CLASSES), 12)

    combinations = {pooled("good", "good"), pooled("good", "bad"), pooled("bad", "bad")}
    assert set(np.round(samples, 12)) == combinations


def test_the_bootstrap_is_seeded_and_paired_across_models():
    rng = np.random.default_rng(3)
    rows = [
        (model, f"sub{s}", rng.choice(CLASSES), rng.choice(CLASSES))
        for model in ("ref", "other")
        for s in range(8)
        for _ in range(3)
    ]
    first = bootstrap_over_subjects(predictions(rows), PARAMS)
    again = bootstrap_over_subjects(predictions(rows), PARAMS)
    pd.testing.assert_frame_equal(first[0], again[0])
    pd.testing.assert_frame_equal(first[1], again[1])
    reseeded = bootstrap_over_subjects(predictions(rows), {**PARAMS, "seed": 8})
    assert not reseeded[0]["uf1_low"].equals(first[0]["uf1_low"])


def test_per_subject_table_counts_each_subjects_own_classes():
    rows = [
        ("ref", "sub1", "a", "a"),
        ("ref", "sub1", "a", "b"),
        ("ref", "sub1", "b", "b"),
        ("ref", "sub2", "c", "c"),
    ]
    table = tabulate_subject_metrics(predictions(rows), PARAMS).set_index("subject")
    assert table.loc["sub1", "n_samples"] == 3
    assert table.loc["sub1", "n_classes_present"] == 2
    assert table.loc["sub1", "accuracy"] == pytest.approx(2 / 3)
    # a: P 1, R 1/2 -> F1 2/3; b: P 1/2, R 1 -> F1 2/3 (class c not among sub1's)
    assert table.loc["sub1", "uf1"] == pytest.approx(2 / 3)
    assert table.loc["sub1", "uar"] == pytest.approx(0.75)
    assert table.loc["sub2", "uf1"] == 1.0 and table.loc["sub2", "fold"] == "sub2"
    assert set(table["protocol"]) == {"loso"}


def test_bad_settings_and_a_missing_reference_are_refused():
    table = predictions(same_subjects("other"))
    with pytest.raises(
        ValueError, match="reference model 'ref'.*parameters_evaluation"
    ):
        bootstrap_over_subjects(table, PARAMS)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_over_subjects(table, {**PARAMS, "confidence": 95})
    with pytest.raises(ValueError, match="level 'frame'"):
        tabulate_subject_metrics(table, {**PARAMS, "level": "frame"})
    bad = table.assign(y_pred="z")
    with pytest.raises(ValueError, match=r"\['z'\]"):
        bootstrap_over_subjects(bad.assign(model="ref"), PARAMS)


def test_pipeline_runs_under_a_namespace():
    rows = same_subjects("ref") + same_subjects("other")
    catalog = DataCatalog(
        {
            "casme2.predictions": MemoryDataset(predictions(rows)),
            "params:casme2.evaluation_statistics": MemoryDataset(PARAMS),
        }
    )
    for name in ("subject_metrics", "bootstrap_intervals", "model_comparison"):
        catalog[f"casme2.{name}"] = MemoryDataset()
    SequentialRunner().run(Pipeline(create_pipeline(), namespace="casme2"), catalog)
    assert len(catalog.load("casme2.subject_metrics")) == 10
    assert list(catalog.load("casme2.model_comparison")["model"]) == ["other"]


def seeded(rows: list[tuple[str, str, str, str]], seed: int) -> pd.DataFrame:
    """``predictions(rows)`` as training seed ``seed`` wrote them."""
    return predictions(rows).assign(
        seed=seed, settings="demo settings", image_size="-", epochs="-", n_seeds=2
    )


def random_rows(model: str, rng: np.random.Generator, n_subjects: int = 7):
    return [
        (model, f"sub{s}", rng.choice(CLASSES), rng.choice(CLASSES))
        for s in range(n_subjects)
        for _ in range(4)
    ]


def test_identical_predictions_under_two_seeds_leave_the_intervals_unchanged():
    rng = np.random.default_rng(5)
    rows = random_rows("ref", rng) + random_rows("other", rng)
    one = bootstrap_over_subjects(seeded(rows, 0), PARAMS)
    two = bootstrap_over_subjects(
        pd.concat([seeded(rows, 0), seeded(rows, 1)], ignore_index=True), PARAMS
    )
    assert list(two[0]["n_seeds"]) == [2, 2] and list(one[0]["n_seeds"]) == [1, 1]
    pd.testing.assert_frame_equal(
        one[0].drop(columns="n_seeds"), two[0].drop(columns="n_seeds")
    )
    pd.testing.assert_frame_equal(one[1], two[1])
    subject_one = tabulate_subject_metrics(seeded(rows, 0), PARAMS)
    subject_two = tabulate_subject_metrics(
        pd.concat([seeded(rows, 0), seeded(rows, 1)], ignore_index=True), PARAMS
    )
    pd.testing.assert_frame_equal(subject_one, subject_two)


def test_the_point_estimate_is_the_metrics_tables_mean_over_seeds():
    rng = np.random.default_rng(6)
    first = random_rows("ref", rng)
    second = [(m, s, true, "a") for m, s, true, _ in first]  # seed 1 always says a
    table = pd.concat([seeded(first, 0), seeded(second, 1)], ignore_index=True)
    intervals, _ = bootstrap_over_subjects(table, PARAMS)
    metrics, _ = compute_metrics(table)
    (row,) = intervals.to_dict("records")
    (metric_row,) = metrics.to_dict("records")
    for metric in ("uf1", "uar"):
        assert row[metric] == pytest.approx(metric_row[metric], abs=1e-12)
    by_seed = [
        uf1(t["y_true"], t["y_pred"], CLASSES)
        for t in (seeded(first, 0), seeded(second, 1))
    ]
    assert row["uf1"] == pytest.approx(np.mean(by_seed))
    pooled = uf1(table["y_true"], table["y_pred"], CLASSES)
    assert abs(pooled - row["uf1"]) > 1e-3  # pooling the seeds would differ
    assert row["n_samples"] == len(first)  # one seed's rows, as in the metrics table
    assert row["uf1_low"] <= row["uf1"] <= row["uf1_high"]


def test_each_seed_is_scored_on_the_same_subject_draws():
    """Two seeds, one right on every clip and one wrong on every clip: on shared
    draws every resample averages 1 and 0, so the interval has zero width."""
    rows = [("ref", f"sub{s}", t, t) for s in range(4) for t in CLASSES]
    wrong = {"a": "b", "b": "c", "c": "a"}
    table = pd.concat(
        [
            seeded(rows, 0),
            seeded([(m, s, t, wrong[t]) for m, s, t, _ in rows], 1),
        ],
        ignore_index=True,
    )
    (row,) = bootstrap_over_subjects(table, PARAMS)[0].to_dict("records")
    assert row["uf1"] == pytest.approx(0.5)
    assert row["uf1_low"] == pytest.approx(0.5) and row["uf1_high"] == pytest.approx(
        0.5
    )


def test_holm_adjustment_of_a_hand_computed_family():
    # sorted: 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04 -> 0.06
    assert np.allclose(
        holm_adjusted([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02]
    )
    assert np.allclose(holm_adjusted([0.5, 0.4]), [0.8, 0.8])  # 0.4 x 2, then max
    assert np.allclose(holm_adjusted([0.6, 0.7]), [1.0, 1.0])  # 0.6 x 2 capped at 1
    assert holm_adjusted([]).shape == (0,)


def test_bootstrap_p_values_count_both_sides():
    assert bootstrap_p_value(np.zeros(99)) == 1.0  # no difference at all
    assert bootstrap_p_value(np.full(99, 0.1)) == pytest.approx(2 / 100)
    # 9 of 99 resamples at or below 0: 2 x (9 + 1) / 100
    differences = np.r_[np.full(9, -0.1), np.full(90, 0.2)]
    assert bootstrap_p_value(differences) == pytest.approx(0.2)


def test_comparisons_carry_holm_adjusted_p_values_over_the_protocol():
    rng = np.random.default_rng(9)
    rows = same_subjects("ref") + [
        (model, f"sub{s}", true, true if model == "perfect" else rng.choice(CLASSES))
        for model in ("perfect", "noisy", "other")
        for s in range(5)
        for true in ("a", "a", "b", "c")
    ]
    _, comparison = bootstrap_over_subjects(predictions(rows), PARAMS)
    assert set(comparison["n_comparisons"]) == {3}
    for metric in ("uf1", "uar"):
        expected = holm_adjusted(comparison[f"{metric}_p_value"])
        assert np.allclose(comparison[f"{metric}_p_holm"], expected)
        assert (comparison[f"{metric}_p_holm"] >= comparison[f"{metric}_p_value"]).all()
    perfect = comparison.set_index("model").loc["perfect"]
    # better on every resample: raw p 2/(B+1), three comparisons: at most 3 x that
    assert perfect["uf1_p_value"] == pytest.approx(2 / 501)
    assert perfect["uf1_p_holm"] <= 3 * 2 / 501 + 1e-12
