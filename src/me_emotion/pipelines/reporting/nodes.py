"""Reporting nodes: data-source summary, the paper's tables, plotly figures, HTML report.

Every node is pure: it receives tables, figures and parameters and returns
data; the catalog writes CSV, Markdown, plotly JSON and the HTML page. The
nodes only pick what each part needs out of the parameters: tables are built
in ``tables.py``, figures in ``figures.py``, the two documents (with their
prose in ``templates/``) in ``pages.py``. Column names of the training
stage's outputs live in ``columns.py``.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from . import columns as col
from .figures import (
    Confusion,
    confusion_matrices_figure,
    confusions_of,
    headline_first,
    in_model_order,
    ordered,
    per_class_recall_figure,
    scores_figure,
)
from .pages import (
    CompositeTables,
    EvaluationTables,
    Figures,
    Headline,
    report_html,
    tables_markdown,
)
from .tables import (
    comparison_table,
    composite_figures_table,
    headline_table,
    metric_table,
    model_order,
    subject_table,
)

# Footer versions: a package the run environment does not list reads so.
UNRECORDED = "not recorded"
# Published 3-class composite UF1 (LOSO, real data), quoted for orientation.
PUBLISHED_COMPOSITE_UF1 = (
    ("LBP-TOP", "0.59"),
    ("OFF-ApexNet", "0.72"),
    ("STSTNet", "0.74"),
    ("recent transformers", "0.86-0.89 (often lower when re-run)"),
)


def _model_order(params: dict[str, Any]) -> list[str]:
    """Hybrid model first, then the baselines, the AU-enhanced model last."""
    return model_order(
        params["hybrid_model"], params["baselines"], params["enhanced_model"]
    )


def _names(params: dict[str, Any]) -> dict[str, str]:
    return dict(params["model_names"] or {})


def data_source_label(metrics: pd.DataFrame) -> str:
    """``SYNTHETIC data`` when any row comes from synthetic data, else ``real data``."""
    if col.DATA_SOURCE not in metrics or metrics.empty:
        return "data source unknown"
    sources = set(metrics[col.DATA_SOURCE].astype(str).str.lower())
    return "SYNTHETIC data" if "synthetic" in sources else "real data"


# ---- data source ---------------------------------------------------------------------


def _counts(values: pd.Series) -> dict[str, int]:
    counted = values.astype("string").fillna("(none)").value_counts(sort=True)
    return {str(k): int(v) for k, v in counted.items()}


def _distinct_clips(table: pd.DataFrame) -> int:
    """Clips in ``table``: CASME-II reuses clip names across subjects, so subject + clip."""
    keys = [c for c in ("subject", "clip") if c in table]
    return len(table[keys].drop_duplicates()) if keys and len(table) else 0


def summarise_data_source(
    clip_index: pd.DataFrame,
    ingestion_rejects: pd.DataFrame,
    face_rejects: pd.DataFrame,
    vgg_embeddings: pd.DataFrame,
    ingestion_params: dict[str, Any],
) -> dict[str, Any]:
    """What the numbers were computed from: release, counts, rejects, VGG-16 weights.

    Args:
        clip_index: ``{namespace}.clip_index`` (``dataset``, ``source``, ``subject``, ``label``).
        ingestion_rejects: spreadsheet rows that did not become a clip (``reason``).
        face_rejects: clips without a face (``reason``).
        vgg_embeddings: ``{namespace}.vgg_embeddings``; its ``subject``, ``clip``,
            ``aug_id``, ``weights`` and ``precision`` columns are used.
        ingestion_params: ``params:<namespace>.data_ingestion`` (coding file, class set).

    Returns:
        A JSON-ready dict: dataset, source (``synthetic`` | ``real``), coding
        file name (the release version), subject / clip / class counts, reject
        counts by reason, embedding rows, and the weights and precision of the
        embeddings.
    """
    labelled = clip_index[clip_index["label"].notna()]
    sources = sorted(set(clip_index["source"].astype(str))) if len(clip_index) else []
    summary: dict[str, Any] = {
        "dataset": str(
            clip_index["dataset"].iloc[0]
            if len(clip_index)
            else ingestion_params.get("dataset", "")
        ),
        "source": "+".join(sources) or "unknown",
        "coding_file": PurePath(str(ingestion_params.get("coding_file", ""))).name,
        "class_set": str(ingestion_params.get("class_set", "")),
        "subjects": int(clip_index["subject"].nunique()),
        "clips": len(clip_index),
        "labelled_clips": len(labelled),
        "clips_per_class": _counts(labelled["label"]),
        "ingestion_rejects": len(ingestion_rejects),
        "ingestion_reject_reasons": _counts(ingestion_rejects["reason"])
        if len(ingestion_rejects)
        else {},
        "face_rejects": len(face_rejects),
        "face_reject_reasons": _counts(face_rejects["reason"])
        if len(face_rejects)
        else {},
        "embedded_clips": _distinct_clips(vgg_embeddings),
        "embedding_rows": len(vgg_embeddings),
        "augmented_variants": int(vgg_embeddings["aug_id"].max())
        if len(vgg_embeddings)
        else 0,
        "vgg16_weights": sorted(set(vgg_embeddings["weights"].astype(str)))
        if len(vgg_embeddings)
        else [],
        "precision": sorted(set(vgg_embeddings["precision"].astype(str)))
        if len(vgg_embeddings)
        else [],
    }
    return summary


# ---- tables ----------------------------------------------------------------------------


def build_result_tables(
    metrics: pd.DataFrame, bootstrap_intervals: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The paper's Tables 1-3, each with a protocol column (random split beside LOSO).

    Args:
        metrics: ``{namespace}.metrics``.
        bootstrap_intervals: ``{namespace}.bootstrap_intervals``: the 95%
            bootstrap-over-subjects interval printed beside UF1 and UAR.
        params: ``params:<namespace>.reporting`` (checked at startup).

    Returns:
        ``(table1, table2, table3)``: the hybrid model; the AU-enhanced model;
        the baselines, the hybrid model and the AU-enhanced model together.
        Columns: see ``tables.metric_table``.
    """
    names = _names(params)
    protocols = params["protocols"]
    dataset = params["dataset"]
    decimals = int(params["decimals"])
    return tuple(
        metric_table(
            metrics,
            models,
            protocols,
            dataset,
            names,
            intervals=bootstrap_intervals,
            decimals=decimals,
        )
        for models in (
            [params["hybrid_model"]],
            [params["enhanced_model"]],
            _model_order(params),
        )
    )


def _headline(
    metrics: pd.DataFrame, intervals: pd.DataFrame, params: dict[str, Any]
) -> Headline:
    headline = params["headline"]
    table = headline_table(
        metrics,
        _model_order(params),
        headline["protocol"],
        headline["level"],
        _names(params),
        intervals=intervals,
        decimals=int(params["decimals"]),
    )
    return Headline(headline["protocol"], headline["level"], table)


def build_evaluation_tables(
    bootstrap_intervals: pd.DataFrame,
    subject_metrics: pd.DataFrame,
    model_comparison: pd.DataFrame,
    params: dict[str, Any],
) -> EvaluationTables:
    """Per-subject UF1 and the comparison with the hybrid model, at the headline.

    Args:
        bootstrap_intervals: ``{namespace}.bootstrap_intervals``.
        subject_metrics: ``{namespace}.subject_metrics``.
        model_comparison: ``{namespace}.model_comparison`` (paired bootstrap).
        params: ``params:<namespace>.reporting``.

    Returns:
        The headline protocol and level, the intervals, the per-subject table
        and the comparison table (``tables.subject_table`` / ``comparison_table``).
    """
    protocol, level = params["headline"]["protocol"], params["headline"]["level"]
    models, names = _model_order(params), _names(params)
    return EvaluationTables(
        protocol=protocol,
        level=level,
        intervals=bootstrap_intervals,
        subjects=subject_table(subject_metrics, models, protocol, level, names),
        comparison=comparison_table(
            model_comparison,
            models,
            protocol,
            level,
            names,
            decimals=int(params["decimals"]),
        ),
    )


def build_composite_evaluation_tables(  # noqa: PLR0913, PLR0917 - one input per source table
    bootstrap_intervals: pd.DataFrame,
    subject_metrics: pd.DataFrame,
    model_comparison: pd.DataFrame,
    metrics: pd.DataFrame,
    class_counts: pd.DataFrame,
    figures_by_dataset: pd.DataFrame,
    clip_label_rejects: pd.DataFrame,
    params: dict[str, Any],
) -> EvaluationTables:
    """``build_evaluation_tables`` plus the composite's own section.

    Args:
        bootstrap_intervals, subject_metrics, model_comparison: as for
            ``build_evaluation_tables`` (``composite.*``).
        metrics: ``composite.metrics`` (the all-clips composite LOSO row).
        class_counts: ``composite.class_counts``: 3-class clips per dataset and
            label source (``official_list`` | ``class_map``).
        figures_by_dataset: ``composite.figures_by_dataset``: composite LOSO on
            each dataset's clips and both ``cross_dataset`` directions.
        clip_label_rejects: ``composite.clip_label_rejects``: list rows not used.
        params: ``params:composite.reporting``.
    """
    tables = build_evaluation_tables(
        bootstrap_intervals, subject_metrics, model_comparison, params
    )
    return tables.with_composite(
        CompositeTables(
            class_counts=class_counts,
            figures=composite_figures_table(
                metrics,
                figures_by_dataset,
                _model_order(params),
                params["headline"]["level"],
                _names(params),
                intervals=bootstrap_intervals,
                decimals=int(params["decimals"]),
            ),
            rejects=clip_label_rejects,
            published=PUBLISHED_COMPOSITE_UF1,
        )
    )


def render_tables_markdown(  # noqa: PLR0913, PLR0917 - one input per table, wired by the pipeline
    table1: pd.DataFrame,
    table2: pd.DataFrame,
    table3: pd.DataFrame,
    metrics: pd.DataFrame,
    bootstrap_intervals: pd.DataFrame,
    params: dict[str, Any],
) -> str:
    """Tables 1-3 as one Markdown document, labelled with the data source and weights.

    The headline and the tables carry UF1 / UAR intervals (95% bootstrap over subjects).
    """
    return tables_markdown(
        params["dataset"],
        data_source_label(metrics),
        _headline(metrics, bootstrap_intervals, params),
        (table1, table2, table3),
        int(params["decimals"]),
    )


# ---- figures -------------------------------------------------------------------------


def _ordered_confusions(
    confusion_matrices: pd.DataFrame, params: dict[str, Any]
) -> list[Confusion]:
    return headline_first(
        confusions_of(confusion_matrices),
        params["headline"],
        params["protocols"],
        _model_order(params),
    )


def plot_confusion_matrices(
    confusion_matrices: pd.DataFrame, metrics: pd.DataFrame, params: dict[str, Any]
) -> go.Figure:
    """One interactive figure: counts and row-normalised matrix per model x protocol x level.

    A menu picks the matrix; the headline (hybrid model, headline protocol and
    level) is shown first. The title names protocol, level and data source.
    """
    return confusion_matrices_figure(
        _ordered_confusions(confusion_matrices, params),
        data_source_label(metrics),
        _names(params),
    )


def plot_uf1_uar(metrics: pd.DataFrame, params: dict[str, Any]) -> go.Figure:
    """Bar chart of UF1 and UAR per model, one panel per protocol, at the headline level."""
    return scores_figure(
        in_model_order(metrics, _model_order(params)),
        ordered(list(metrics[col.PROTOCOL]), params["protocols"]),
        params["headline"]["level"],
        data_source_label(metrics),
        _names(params),
    )


def plot_per_class_recall(
    confusion_matrices: pd.DataFrame, metrics: pd.DataFrame, params: dict[str, Any]
) -> go.Figure:
    """Heatmap of per-class recall (model x class), one panel per protocol."""
    confusions = _ordered_confusions(confusion_matrices, params)
    return per_class_recall_figure(
        confusions,
        ordered([c.protocol for c in confusions], params["protocols"]),
        params["headline"]["level"],
        data_source_label(metrics),
        _names(params),
    )


# ---- HTML report -----------------------------------------------------------------------


def gather_run_parameters(**blocks: dict[str, Any]) -> dict[str, Any]:
    """The parameter blocks the report prints, by block name, in wiring order.

    The pipeline wires each block as its own input (``params:<namespace>.training``,
    ...), so the report sees exactly the blocks of its own namespace.
    """
    return dict(blocks)


def render_report(  # noqa: PLR0913, PLR0917 - one input per report section, wired by the pipeline
    metrics: pd.DataFrame,
    table1: pd.DataFrame,
    table2: pd.DataFrame,
    table3: pd.DataFrame,
    confusion_figure: go.Figure,
    scores: go.Figure,
    recall: go.Figure,
    params: dict[str, Any],
    run_parameters: dict[str, Any],
    run_environment: dict[str, Any],
    fold_class_gaps: pd.DataFrame,
    evaluation_tables: EvaluationTables,
    *data_sources: dict[str, Any],
) -> str:
    """One self-contained HTML page: data source, weights, tables, figures, parameters.

    Args:
        metrics: ``{namespace}.metrics``.
        table1, table2, table3: ``build_result_tables``' outputs.
        confusion_figure, scores, recall: the three plotly figures.
        params: ``params:<namespace>.reporting``.
        run_parameters: ``gather_run_parameters``' output, printed at the end.
        run_environment: the ``run_environment`` dataset; its ``packages``
            versions (``me_emotion``, ``kedro``, ``plotly``) are in the footer.
        fold_class_gaps: ``{namespace}.fold_class_gaps``, the folds whose
            training side lacks a class (listed in their own section).
        evaluation_tables: ``build_evaluation_tables``' (or the composite
            variant's) output: intervals, per-subject and comparison tables.
        data_sources: one ``summarise_data_source`` dict per dataset.

    Returns:
        The page (plotly.js inline, about 4 MB), readable offline.
    """
    source = data_source_label(metrics)
    if any(s["source"] == "synthetic" for s in data_sources):
        source = "SYNTHETIC data"  # the clip index says so even where metrics do not
    weights = sorted(
        {w for s in data_sources for w in s["vgg16_weights"]}
        | (set(metrics[col.WEIGHTS].astype(str)) if col.WEIGHTS in metrics else set())
    )
    packages = run_environment.get("packages", {})
    hybrid = params["hybrid_model"]
    return report_html(
        title=f"me_emotion results: {params['dataset']} ({source})",
        source=source,
        weights=weights,
        headline=_headline(metrics, evaluation_tables.intervals, params),
        tables=(table1, table2, table3),
        evaluation=evaluation_tables,
        figures=Figures(confusion_figure, scores, recall),
        metrics=metrics,
        hybrid_model=(hybrid, _names(params).get(hybrid, hybrid)),
        fold_class_gaps=fold_class_gaps,
        data_sources=data_sources,
        run_parameters=run_parameters,
        packages={
            name: packages.get(name, UNRECORDED)
            for name in ("me_emotion", "kedro", "plotly")
        },
        decimals=int(params["decimals"]),
    )
