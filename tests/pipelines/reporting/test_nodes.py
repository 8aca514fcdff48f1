"""Reporting nodes on hand-made metric and confusion tables."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from me_emotion.pipelines.reporting import columns as col
from me_emotion.pipelines.reporting.figures import Confusion, confusions_of
from me_emotion.pipelines.reporting.nodes import (
    build_composite_evaluation_tables,
    build_evaluation_tables,
    build_result_tables,
    data_source_label,
    plot_confusion_matrices,
    plot_per_class_recall,
    plot_uf1_uar,
    render_report,
    render_tables_markdown,
)
from me_emotion.pipelines.reporting.tables import headline_table, markdown_table
from tests.conftest import conf_parameters

from .conftest import CLASSES, MODELS, WEIGHTS

# the default HybridMicroNet's display name, as the parameters give it
HYBRID = conf_parameters("reporting", "casme2", "reporting")["model_names"]["hybrid_micronet"]

NO_GAPS = pd.DataFrame(
    columns=["protocol", "fold", "level", "missing_classes", "test_clips_of_them"]
)
RUN_ENVIRONMENT = {
    "packages": {"me_emotion": "9.9.1", "kedro": "9.9.2", "plotly": "9.9.3"},
    "cpu": {"model": "test CPU", "flags": []},
}


def section(page: str, anchor: str) -> str:
    """The body of one ``<section id=anchor>`` of the report."""
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.S)
    assert match, f"the report has no section {anchor!r}"
    return match.group(1)


def test_confusions_keep_class_order_and_counts(confusion_matrices):
    confusions = confusions_of(confusion_matrices)
    assert len(confusions) == 2 * (2 * len(MODELS) - 1)  # flow_cnn: clip level only
    first = confusions[0]
    assert first.classes == tuple(CLASSES)
    rows = confusion_matrices[
        (confusion_matrices.model == first.model)
        & (confusion_matrices.protocol == first.protocol)
        & (confusion_matrices.level == first.level)
    ]
    assert first.counts.sum() == rows["count"].sum()
    assert (
        first.counts[0, 1]
        == rows[(rows.y_true == CLASSES[0]) & (rows.y_pred == CLASSES[1])][
            "count"
        ].item()
    )


def test_a_class_without_samples_gets_a_zero_row_not_nan():
    counts = np.array([[3, 1], [0, 0]])
    confusion = Confusion("loso", "svm", "clip", ("a", "b"), counts)
    np.testing.assert_allclose(confusion.row_normalised, [[0.75, 0.25], [0.0, 0.0]])
    np.testing.assert_allclose(confusion.recall, [0.75, 0.0])


def test_confusion_table_without_its_columns_is_refused(confusion_matrices):
    with pytest.raises(ValueError, match="y_pred"):
        confusions_of(confusion_matrices.drop(columns="y_pred"))


def test_tables_put_the_random_split_beside_loso(metrics, params):
    table1, table2, table3 = build_result_tables(metrics, None, params)
    assert set(table1["model"]) == {HYBRID}
    assert set(table2["model"]) == {"AU-enhanced (annotated AUs)"}
    # hybrid first, baselines in parameter order (absent ones skipped), enhanced last
    assert list(dict.fromkeys(table3["model"])) == [
        HYBRID,
        "ANN",
        "SVM",
        "flow CNN (onset-apex)",
        "AU-enhanced (annotated AUs)",
    ]
    # each model x level: paper_random_split, then loso, on adjacent rows
    for _, group in table3.groupby(["model", "level"], sort=False):
        assert list(group["protocol"]) == ["paper_random_split", "loso"]
        assert np.diff(group.index).tolist() == [1]
    assert {"chance accuracy", "chance UF1", "chance UAR", "n", "folds"} <= set(
        table1.columns
    )
    assert set(table1["dataset"]) == {"CASME-II"}
    assert set(table1["VGG-16 weights"]) == {WEIGHTS}


def test_table_values_come_from_the_metrics(metrics, params):
    table1, _, _ = build_result_tables(metrics, None, params)
    row = table1[(table1.protocol == "loso") & (table1.level == "clip")].iloc[0]
    source = metrics[
        (metrics.model == "hybrid_micronet")
        & (metrics.protocol == "loso")
        & (metrics.level == "clip")
    ].iloc[0]
    assert row["accuracy"] == pytest.approx(source["accuracy"])
    assert row["precision"] == pytest.approx(source["macro_precision"])
    assert row["recall (UAR)"] == pytest.approx(source["uar"])
    assert row["F1 (UF1)"] == pytest.approx(source["uf1"])
    assert row["chance UAR"] == pytest.approx(1 / 3)


def test_headline_rows_are_the_tables_rows_of_the_headline_protocol(metrics, params):
    """One builder: the headline's scores are Table 3's rows of protocol loso, clip level."""
    models = [params["hybrid_model"], *params["baselines"], params["enhanced_model"]]
    names = params["model_names"]
    headline = headline_table(metrics, models, "loso", "clip", names)
    _, _, table3 = build_result_tables(metrics, None, params)
    expected = table3[(table3.protocol == "loso") & (table3.level == "clip")]
    assert list(headline["model"]) == list(expected["model"])
    np.testing.assert_allclose(headline["UF1"], expected["F1 (UF1)"])
    np.testing.assert_allclose(headline["UAR"], expected["recall (UAR)"])
    np.testing.assert_allclose(headline["accuracy"], expected["accuracy"])
    assert list(headline.columns[:7]) == [
        "model",
        "protocol",
        "level",
        "UF1",
        "UAR",
        "accuracy",
        "weighted F1",
    ]


def test_headline_lists_models_outside_the_tables_last(metrics):
    headline = headline_table(metrics, ["svm"], "paper_random_split", "frame", {})
    assert list(headline["model"]) == ["svm", "hybrid_micronet", "ann", "au_enhanced"]
    assert set(headline["level"]) == {"frame"}


def test_metrics_without_a_score_column_are_refused(metrics, params):
    with pytest.raises(ValueError, match="macro_precision"):
        build_result_tables(metrics.drop(columns="macro_precision"), None, params)


def test_markdown_table_aligns_numbers_and_escapes_pipes():
    text = markdown_table(
        pd.DataFrame({"name": ["a|b"], "score": [0.12345]}), decimals=2
    )
    assert text.splitlines() == ["| name | score |", "|---|---:|", "| a\\|b | 0.12 |"]


def test_markdown_says_synthetic_and_names_every_protocol(metrics, params):
    tables = build_result_tables(metrics, None, params)
    text = render_tables_markdown(*tables, metrics, None, params)
    assert "SYNTHETIC DATA" in text
    assert text.count("## Table") == 3
    # every score row names its protocol
    score_rows = [
        line
        for line in text.splitlines()
        if re.match(r"\| (CASME-II|[A-Z][^|]*) \|", line) and "0." in line
    ]
    assert score_rows
    assert all("loso" in line or "paper_random_split" in line for line in score_rows)
    assert f"VGG-16 weights: {WEIGHTS}" in text


def test_data_source_label():
    assert (
        data_source_label(pd.DataFrame({"data_source": ["real", "synthetic"]}))
        == "SYNTHETIC data"
    )
    assert data_source_label(pd.DataFrame({"data_source": ["real"]})) == "real data"


def test_confusion_figure_opens_on_the_headline_and_offers_every_matrix(
    confusion_matrices, metrics, params
):
    fig = plot_confusion_matrices(confusion_matrices, metrics, params)
    n = len(confusions_of(confusion_matrices))
    assert len(fig.data) == 2 * n
    visible = [i for i, trace in enumerate(fig.data) if trace.visible is not False]
    assert visible == [0, 1]
    title = fig.layout.title.text
    assert (
        "HybridMicroNet" in title and "protocol loso" in title and "clip level" in title
    )
    assert "SYNTHETIC" in title
    assert list(fig.data[0].x) == CLASSES and list(fig.data[0].y) == CLASSES
    buttons = fig.layout.updatemenus[0].buttons
    assert len(buttons) == n
    assert all(
        ("loso" in b.label or "paper_random_split" in b.label)
        and "protocol" in b.args[1]["title.text"]
        for b in buttons
    )
    np.testing.assert_allclose(np.asarray(fig.data[1].z).sum(axis=1), 1.0, atol=2e-3)


def test_score_figure_has_a_panel_per_protocol_and_chance_marks(metrics, params):
    fig = plot_uf1_uar(metrics, params)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["protocol paper_random_split", "protocol loso"]
    names = {trace.name for trace in fig.data}
    assert names == {"UF1", "UAR", "chance level"}
    assert (
        "clip level" in fig.layout.title.text and "SYNTHETIC" in fig.layout.title.text
    )
    loso_uf1 = next(t for t in fig.data if t.name == "UF1" and t.xaxis == "x2")
    assert list(loso_uf1.x)[0] == HYBRID


def test_per_class_recall_is_the_confusion_diagonal(
    confusion_matrices, metrics, params
):
    fig = plot_per_class_recall(confusion_matrices, metrics, params)
    assert len(fig.data) == 2
    loso = fig.data[1]
    assert list(loso.x) == CLASSES
    hybrid = next(
        c
        for c in confusions_of(confusion_matrices)
        if (c.model, c.protocol, c.level) == ("hybrid_micronet", "loso", "clip")
    )
    np.testing.assert_allclose(np.asarray(loso.z)[0], hybrid.recall, atol=1e-3)


def test_data_source_summary(data_source):
    assert data_source["source"] == "synthetic"
    assert data_source["coding_file"] == "CASME2-coding-20140508.xlsx"
    assert data_source["subjects"] == 3 and data_source["clips"] == 4
    assert data_source["labelled_clips"] == 3
    assert data_source["ingestion_rejects"] == 1
    assert data_source["ingestion_reject_reasons"] == {"no frames folder": 1}
    assert data_source["face_rejects"] == 0
    assert data_source["embedded_clips"] == 3 and data_source["augmented_variants"] == 1
    assert data_source["vgg16_weights"] == [WEIGHTS]


def render(
    metrics: pd.DataFrame,
    confusion_matrices: pd.DataFrame,
    params: dict,
    data_source: dict,
    *,
    run_parameters: dict | None = None,
    evaluation: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None = None,
) -> str:
    """The report of ``metrics``, through every node that feeds ``render_report``.

    ``evaluation``: ``(bootstrap_intervals, subject_metrics, model_comparison)``;
    none by default (the evaluation stage wrote no rows).
    """
    intervals, subjects, comparison = evaluation or (
        pd.DataFrame(columns=["protocol", "model", "level", "uf1_low", "uf1_high"]),
        pd.DataFrame(columns=["protocol", "model", "level", "dataset", "subject"]),
        pd.DataFrame(columns=["protocol", "model", "level", "reference_model"]),
    )
    tables = build_result_tables(metrics, intervals, params)
    figures = (
        plot_confusion_matrices(confusion_matrices, metrics, params),
        plot_uf1_uar(metrics, params),
        plot_per_class_recall(confusion_matrices, metrics, params),
    )
    return render_report(
        metrics,
        *tables,
        *figures,
        params,
        run_parameters or {},
        RUN_ENVIRONMENT,
        NO_GAPS,
        build_evaluation_tables(intervals, subjects, comparison, params),
        data_source,
    )


@pytest.fixture
def report(confusion_matrices, metrics, params, data_source) -> str:
    run_parameters = {"reporting": params, "training": {"seed": 20260421}}
    return render(
        metrics, confusion_matrices, params, data_source, run_parameters=run_parameters
    )


def test_report_is_self_contained_and_labelled(report):
    assert report.startswith("<!DOCTYPE html>")
    assert "SYNTHETIC DATA" in report
    assert not re.search(r"<(script|link)[^>]+(src|href)=", report)  # nothing fetched
    drawn = re.findall(r'Plotly\.newPlot\(\s*"([\w-]+)"', report)
    assert drawn == ["uf1-uar", "confusion-matrices", "per-class-recall"]
    # plotly.js inline exactly once
    assert len(re.findall(r"plotly\.js v\d", report)) == 1
    assert WEIGHTS in report
    assert "CASME2-coding-20140508.xlsx" in report
    assert "Why the random split inflates accuracy" in report
    # the wired parameter blocks are printed, and the run environment's versions
    printed = section(report, "parameters")
    assert "reporting:" in printed and "seed: 20260421" in printed
    assert "me_emotion 9.9.1, kedro 9.9.2, plotly 9.9.3." in report


def test_report_quotes_the_runs_own_random_split_and_loso_figures(report, metrics):
    """The leakage section explains the split and quotes this run's two accuracies."""
    leakage = section(report, "random-split")
    assert "<em>same clip</em>" in leakage
    assert "Leave-one-subject-out" in leakage
    hybrid = metrics[(metrics.model == "hybrid_micronet")]
    split = hybrid[
        (hybrid.protocol == "paper_random_split") & (hybrid.level == "frame")
    ].iloc[0]
    loso = hybrid[(hybrid.protocol == "loso") & (hybrid.level == "clip")].iloc[0]
    accuracy, uf1 = col.METRICS["accuracy"], col.METRICS["UF1"]
    assert (
        f"{HYBRID} reached accuracy <strong>{split[accuracy]:.3f}</strong> "
        f"(UF1 {split[uf1]:.3f}) under <code>paper_random_split</code> (frame level)"
    ) in " ".join(leakage.split())
    assert (
        f"accuracy <strong>{loso[accuracy]:.3f}</strong> (UF1 {loso[uf1]:.3f}) under "
        "<code>loso</code> (clip level)"
    ) in " ".join(leakage.split())


def test_report_without_a_random_split_quotes_no_run_figures(
    confusion_matrices, metrics, params, data_source
):
    loso_only = metrics[metrics.protocol == "loso"]
    page = render(loso_only, confusion_matrices, params, data_source)
    leakage = section(page, "random-split")
    assert "<em>same clip</em>" in leakage
    assert "In this run" not in leakage


def test_report_on_real_data_has_no_synthetic_banner(
    confusion_matrices, metrics, params, data_source
):
    real = metrics.assign(data_source="real")
    page = render(real, confusion_matrices, params, {**data_source, "source": "real"})
    assert "SYNTHETIC" not in page
    assert "real data" in page


# ---- intervals, per-subject results, model comparison ----------------------------------


def test_tables_show_the_interval_beside_uf1_and_uar(
    metrics, bootstrap_intervals, params
):
    _, _, table3 = build_result_tables(metrics, bootstrap_intervals, params)
    columns = list(table3.columns)
    assert columns[columns.index("F1 (UF1)") + 1] == "UF1 95% CI"
    assert columns[columns.index("recall (UAR)") + 1] == "UAR 95% CI"
    svm = metrics[
        (metrics.model == "svm")
        & (metrics.protocol == "loso")
        & (metrics.level == "clip")
    ].iloc[0]
    row = table3[
        (table3.model == "SVM") & (table3.protocol == "loso") & (table3.level == "clip")
    ].iloc[0]
    width = 0.1 + MODELS.index("svm") / 100  # the fixture's interval of svm
    assert row["UF1 95% CI"] == f"[{svm.uf1 - width:.3f}, {svm.uf1 + width:.3f}]"
    assert row["UAR 95% CI"] == (
        f"[{svm.uar - width / 2:.3f}, {svm.uar + width / 2:.3f}]"
    )
    # no interval was computed at the frame level: an empty cell, not another row's
    assert set(table3[table3.level == "frame"]["UF1 95% CI"]) == {""}


def test_markdown_headline_carries_the_intervals(metrics, bootstrap_intervals, params):
    tables = build_result_tables(metrics, bootstrap_intervals, params)
    text = render_tables_markdown(*tables, metrics, bootstrap_intervals, params)
    headline = text.split("## Table 1")[0]
    hybrid = metrics[
        (metrics.model == "hybrid_micronet")
        & (metrics.protocol == "loso")
        & (metrics.level == "clip")
    ].iloc[0]
    line = next(r for r in headline.splitlines() if r.startswith("| HybridMicroNet"))
    assert (
        f"| {hybrid.uf1:.3f} | [{hybrid.uf1 - 0.1:.3f}, {hybrid.uf1 + 0.1:.3f}] |"
        in line
    )
    assert "UF1 95% CI" in headline and "UAR 95% CI" in headline


def test_intervals_without_their_columns_are_refused(
    metrics, bootstrap_intervals, params
):
    with pytest.raises(ValueError, match="uf1_high"):
        build_result_tables(
            metrics, bootstrap_intervals.drop(columns="uf1_high"), params
        )


@pytest.fixture
def evaluated_report(  # noqa: PLR0913, PLR0917 - one fixture per input table
    confusion_matrices,
    metrics,
    params,
    data_source,
    bootstrap_intervals,
    subject_metrics,
    model_comparison,
) -> str:
    evaluation = (bootstrap_intervals, subject_metrics, model_comparison)
    return render(
        metrics, confusion_matrices, params, data_source, evaluation=evaluation
    )


def _flat(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_report_headline_shows_intervals(evaluated_report, metrics):
    headline = _flat(section(evaluated_report, "headline"))
    hybrid = metrics[
        (metrics.model == "hybrid_micronet")
        & (metrics.protocol == "loso")
        & (metrics.level == "clip")
    ].iloc[0]
    assert f"[{hybrid.uf1 - 0.1:.3f}, {hybrid.uf1 + 0.1:.3f}]" in headline
    assert "95% bootstrap over subjects" in headline


def test_report_lists_per_subject_uf1_and_the_paired_comparison(evaluated_report):
    heading = re.search(r"<h2[^>]*>([^<]*bootstrap[^<]*)</h2>", evaluated_report)
    assert heading and "protocol loso" in heading.group(1)
    assert "95% bootstrap over subjects" in heading.group(1)
    body = _flat(section(evaluated_report, "uncertainty"))
    # per subject: ANN (model index 1) on sub03 (index 2) = 0.1 + 0.02
    assert "ANN 0.100 0.110 0.120 0.110 0.100 0.120" in body  # median, min, max
    assert "sub01 (4 clips) sub02 (5 clips) sub03 (6 clips) median" in body
    # comparison: SVM (index 2) minus HybridMicroNet = 0.2 [-0.05, 0.25], Holm p 0.06
    assert f"SVM {HYBRID} 0.200 [-0.050, 0.250] 0.060" in body
    assert f"UF1 p, Holm over {len(MODELS) - 1}" in body
    assert "Holm-adjusted over every comparison with HybridMicroNet" in body
    assert "Protocol loso , clip level" in body


def test_report_without_evaluation_rows_says_so(report):
    body = _flat(section(report, "uncertainty"))
    assert "No per-subject results for protocol loso" in body
    assert "No model comparison for protocol loso" in body


def test_per_subject_table_names_the_dataset_when_subjects_come_from_several(
    subject_metrics,
):
    from me_emotion.pipelines.reporting.tables import subject_table  # noqa: PLC0415

    both = pd.concat(
        [subject_metrics, subject_metrics.assign(dataset="samm")], ignore_index=True
    )
    table = subject_table(both, ["svm"], "loso", "clip", {})
    assert list(table.columns[:3]) == [
        "model",
        "casme2/sub01 (4 clips)",
        "casme2/sub02 (5 clips)",
    ]
    assert "samm/sub03 (6 clips)" in table.columns
    # the named model first, the others in order of appearance
    assert list(table["model"]) == ["svm", *(m for m in MODELS if m != "svm")]


# ---- the composite section -------------------------------------------------------------


def _figure_row(model: str, protocol: str, train: str, test: str, uf1: float) -> dict:
    evaluation = (
        f"MEGC 2019 composite, CASME-II + SAMM part (LOSO), {test} clips"
        if protocol == "composite"
        else f"cross-dataset transfer: trained on {train}, tested on {test}"
    )
    return {
        "data_source": "synthetic",
        "embedding_weights": WEIGHTS,
        "protocol": protocol,
        "model": model,
        "level": "clip",
        "evaluation": evaluation,
        "train_dataset": train,
        "test_dataset": test,
        "n_samples": 7,
        "n_subjects": 3,
        "accuracy": 0.5,
        "uf1": uf1,
        "uar": uf1 + 0.01,
        "chance_uf1": 0.3,
        "chance_uar": 1 / 3,
    }


@pytest.fixture
def composite_report(
    confusion_matrices, metrics, data_source, bootstrap_intervals, subject_metrics
) -> str:
    """The composite report on hand-made composite tables (protocol composite, not loso)."""
    params = conf_parameters("reporting", "composite", "reporting")
    composite = {"loso": "composite"}
    metrics = metrics.replace({"protocol": composite})
    intervals = bootstrap_intervals.replace({"protocol": composite})
    class_counts = pd.DataFrame(
        {
            "dataset": ["casme2", "samm"],
            "source": ["official_list", "official_list"],
            "negative": [88, 92],
            "positive": [32, 26],
            "surprise": [25, 15],
            "clips": [145, 133],
            "subjects": [24, 28],
        }
    )
    figures = pd.DataFrame(
        [
            _figure_row("hybrid_micronet", "composite", "all", "casme2", 0.61),
            _figure_row("hybrid_micronet", "composite", "all", "samm", 0.52),
            _figure_row("hybrid_micronet", "cross_dataset", "casme2", "samm", 0.43),
            _figure_row("hybrid_micronet", "cross_dataset", "samm", "casme2", 0.34),
        ]
    )
    rejects = pd.DataFrame(
        {
            "dataset": ["samm"],
            "subject": ["7"],
            "clip": ["007_9_9"],
            "list_row": ["12"],
            "reason": ["listed clip not in the release"],
        }
    )
    tables = build_composite_evaluation_tables(
        intervals,
        subject_metrics.replace({"protocol": composite}),
        pd.DataFrame(columns=["protocol", "model", "level", "reference_model"]),
        metrics,
        class_counts,
        figures,
        rejects,
        params,
    )
    return render_report(
        metrics,
        *build_result_tables(metrics, intervals, params),
        plot_confusion_matrices(confusion_matrices, metrics, params),
        plot_uf1_uar(metrics, params),
        plot_per_class_recall(confusion_matrices, metrics, params),
        params,
        {},
        RUN_ENVIRONMENT,
        NO_GAPS,
        tables,
        data_source,
    )


def test_composite_report_names_its_protocol_counts_and_label_source(composite_report):
    body = _flat(section(composite_report, "composite"))
    assert "MEGC 2019 composite, CASME-II + SAMM part" in body
    assert "Label source: official_list" in body
    assert "casme2 official_list 88 32 25 145 24" in body
    assert "samm official_list 92 26 15 133 28" in body


def test_composite_report_puts_dataset_figures_and_transfer_beside_the_loso(
    composite_report, metrics
):
    body = _flat(section(composite_report, "composite"))
    hybrid = metrics[
        (metrics.model == "hybrid_micronet")
        & (metrics.protocol == "loso")
        & (metrics.level == "clip")
    ].iloc[0]
    pooled = f"{hybrid.uf1:.3f} [{hybrid.uf1 - 0.1:.3f}, {hybrid.uf1 + 0.1:.3f}]"
    rows = [
        f"{HYBRID} MEGC 2019 composite, CASME-II + SAMM part (LOSO), all clips "
        f"all all {int(hybrid.n_samples)} {pooled}",
        f"{HYBRID} MEGC 2019 composite, CASME-II + SAMM part (LOSO), casme2 clips "
        "all casme2 7 0.610",
        f"{HYBRID} MEGC 2019 composite, CASME-II + SAMM part (LOSO), samm clips "
        "all samm 7 0.520",
        f"{HYBRID} cross-dataset transfer: trained on casme2, tested on samm "
        "casme2 samm 7 0.430",
        f"{HYBRID} cross-dataset transfer: trained on samm, tested on casme2 "
        "samm casme2 7 0.340",
    ]
    positions = [body.index(row) for row in rows]
    assert positions == sorted(
        positions
    )  # the LOSO first, then datasets, then transfer


def test_composite_report_lists_rejects_and_published_figures_as_synthetic(
    composite_report,
):
    body = _flat(section(composite_report, "composite"))
    assert "samm 7 007_9_9 12 listed clip not in the release" in body
    assert "STSTNet 0.74" in body and "LBP-TOP 0.59" in body
    assert "OFF-ApexNet 0.72" in body and "0.86-0.89" in body
    assert "on SYNTHETIC data and are not comparable" in body


def test_dataset_reports_have_no_composite_section(report):
    assert '<section id="composite">' not in report
