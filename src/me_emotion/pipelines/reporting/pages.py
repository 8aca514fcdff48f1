"""The two documents of the reporting stage: the Markdown tables and the HTML report.

The prose lives in ``templates/`` (package data): ``report_text.html.j2``
holds one macro per passage of the HTML report, ``results_tables.md.j2`` the
Markdown document, ``table_note.md`` the note under the tables (both
documents). This module decides what goes where; ``core.html_page`` turns
tables and figures into HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from me_emotion.core import html_page
from me_emotion.core.html_page import Section, escape, figure_html, table_html

from . import columns as col
from .tables import SOURCE, TABLE_TITLES, WEIGHTS, displayed, markdown_table

RANDOM_SPLIT = "paper_random_split"

TEMPLATES = Environment(
    loader=PackageLoader("me_emotion.pipelines.reporting", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",)),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def _text() -> Any:
    """The macros of ``report_text.html.j2``, each returning escaped HTML."""
    return TEMPLATES.get_template("report_text.html.j2").module


def table_note() -> str:
    """The note under the tables (Markdown: protocol names in backticks)."""
    return TEMPLATES.get_template("table_note.md").render().strip()


@dataclass(frozen=True)
class Headline:
    """The figure to quote: protocol and level, with its table."""

    protocol: str
    level: str
    table: pd.DataFrame


@dataclass(frozen=True)
class CompositeTables:
    """The composite report's own tables: 3-class counts, figures by dataset, rejects."""

    class_counts: pd.DataFrame
    figures: pd.DataFrame
    rejects: pd.DataFrame
    published: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class EvaluationTables:
    """Uncertainty at the headline protocol and level (95% bootstrap over subjects)."""

    protocol: str
    level: str
    intervals: pd.DataFrame
    subjects: pd.DataFrame
    comparison: pd.DataFrame
    composite: CompositeTables | None = None

    def with_composite(self, composite: CompositeTables) -> EvaluationTables:
        """These tables plus the composite section."""
        return replace(self, composite=composite)


def tables_markdown(
    dataset: str,
    source: str,
    headline: Headline,
    tables: Sequence[pd.DataFrame],
    decimals: int,
) -> str:
    """Tables 1-3 as one Markdown document, labelled with the data source and weights."""
    shown = []
    for title, table in zip(TABLE_TITLES, tables):
        body, caption = displayed(table)
        shown.append(
            {
                "title": title,
                "markdown": markdown_table(body, decimals),
                "caption": caption,
            }
        )
    return TEMPLATES.get_template("results_tables.md.j2").render(
        dataset=dataset,
        source=source,
        synthetic=source.startswith("SYNTHETIC"),
        headline=headline,
        headline_table=markdown_table(headline.table, decimals),
        tables=shown,
    )


def _data_source_section(data_sources: Sequence[dict[str, Any]], decimals: int) -> str:
    overview = pd.DataFrame(
        [
            {
                "dataset": s["dataset"],
                "source": s["source"],
                "coding sheet (version)": s["coding_file"],
                "class set": s["class_set"],
                "subjects": s["subjects"],
                "clips": s["clips"],
                "labelled clips": s["labelled_clips"],
                "ingestion rejects": s["ingestion_rejects"],
                "face rejects": s["face_rejects"],
                "embedded clips": s["embedded_clips"],
                "augmented variants per clip": s["augmented_variants"],
                "VGG-16 weights": ", ".join(s["vgg16_weights"]),
                "precision": ", ".join(s["precision"]),
            }
            for s in data_sources
        ]
    )
    # one column per dataset: the fields read down, however many datasets
    overview = overview.set_index("dataset").T.rename_axis("dataset").reset_index()
    parts = [table_html(overview, decimals)]
    for s in data_sources:
        classes = pd.DataFrame(
            {
                "class": list(s["clips_per_class"]),
                "clips": list(s["clips_per_class"].values()),
            }
        )
        parts.append(f"<h3>{escape(s['dataset'])}: clips per class</h3>")
        parts.append(table_html(classes, decimals))
        for key, what in (
            ("ingestion_reject_reasons", "spreadsheet rows rejected"),
            ("face_reject_reasons", "clips without a face"),
        ):
            reasons = s[key]
            if reasons:
                table = pd.DataFrame(
                    {"reason": list(reasons), "count": list(reasons.values())}
                )
                parts.append(f"<h3>{escape(s['dataset'])}: {what}</h3>")
                parts.append(table_html(table, decimals))
    return "\n".join(parts)


def _leakage_section(
    metrics: pd.DataFrame,
    hybrid_model: str,
    hybrid_name: str,
    headline: Headline,
    decimals: int,
) -> str:
    """Why the random split inflates accuracy, with this run's own random-split vs LOSO numbers."""
    rows = metrics[metrics[col.MODEL] == hybrid_model]
    split = rows[rows[col.PROTOCOL] == RANDOM_SPLIT]
    honest = rows[
        (rows[col.PROTOCOL] == headline.protocol) & (rows[col.LEVEL] == headline.level)
    ]
    run = None
    if len(split) and len(honest) and headline.protocol != RANDOM_SPLIT:
        # the frame level is the paper's own figure
        split = split.sort_values(col.LEVEL, key=lambda s: s != "frame").iloc[0]
        honest = honest.iloc[0]
        acc, uf1 = col.METRICS["accuracy"], col.METRICS["UF1"]
        run = {
            "name": hybrid_name,
            "split_level": str(split[col.LEVEL]),
            "split_accuracy": f"{split[acc]:.{decimals}f}",
            "split_uf1": f"{split[uf1]:.{decimals}f}",
            "protocol": headline.protocol,
            "level": headline.level,
            "accuracy": f"{honest[acc]:.{decimals}f}",
            "uf1": f"{honest[uf1]:.{decimals}f}",
        }
    return str(_text().leakage(RANDOM_SPLIT, run))


def fold_gaps_section(gaps: pd.DataFrame, decimals: int) -> str:
    """The folds whose training side lacks a class, or a line saying there are none."""
    if gaps.empty:
        return str(_text().no_fold_gaps())
    return table_html(gaps, decimals, str(_text().fold_gaps_caption()))


def uncertainty_section(evaluation: EvaluationTables, decimals: int) -> str:
    """Per-subject UF1 per model and each model minus the reference, with intervals."""
    text = _text()
    subjects = (
        table_html(
            evaluation.subjects,
            decimals,
            str(text.subjects_caption(evaluation.protocol, evaluation.level)),
        )
        if len(evaluation.subjects)
        else str(text.no_evaluation("per-subject results", evaluation.protocol))
    )
    comparison = (
        table_html(
            evaluation.comparison,
            decimals,
            str(
                text.comparison_caption(
                    evaluation.protocol,
                    evaluation.level,
                    evaluation.comparison["compared with"].iloc[0],
                )
            ),
        )
        if len(evaluation.comparison)
        else str(text.no_evaluation("model comparison", evaluation.protocol))
    )
    return (
        "<h3>Per-subject UF1</h3>\n"
        + subjects
        + "\n<h3>Each model minus the reference model</h3>\n"
        + comparison
    )


def composite_section(
    composite: CompositeTables, synthetic: bool, decimals: int
) -> str:
    """Counts per dataset and label source, figures by dataset and transfer, rejects, published figures."""
    text = _text()
    counts = composite.class_counts
    sources = sorted(set(counts["source"].astype(str))) if "source" in counts else []
    parts = [
        str(text.composite_intro(", ".join(sources) or "unknown")),
        "<h3>3-class clips per dataset and label source</h3>",
        table_html(counts, decimals),
        "<h3>Composite LOSO per source dataset, and cross-dataset transfer</h3>",
        table_html(composite.figures, decimals, str(text.composite_figures_caption())),
    ]
    if len(composite.rejects):
        parts += [
            "<h3>Composite list rows not used</h3>",
            table_html(composite.rejects, decimals),
        ]
    else:
        parts.append(str(text.no_composite_rejects()))
    published = pd.DataFrame(
        {
            "method (published)": [name for name, _ in composite.published],
            "3-class composite UF1, LOSO": [uf1 for _, uf1 in composite.published],
        }
    )
    parts += [
        "<h3>Published figures, for orientation</h3>",
        table_html(published, decimals, str(text.published_caption(synthetic))),
    ]
    return "\n".join(parts)


@dataclass(frozen=True)
class Figures:
    """The three plotly figures of the report."""

    confusion: go.Figure
    scores: go.Figure
    recall: go.Figure


def report_html(  # noqa: PLR0913 - one argument per report section
    *,
    title: str,
    source: str,
    weights: Sequence[str],
    headline: Headline,
    tables: Sequence[pd.DataFrame],
    evaluation: EvaluationTables,
    figures: Figures,
    metrics: pd.DataFrame,
    hybrid_model: tuple[str, str],
    fold_class_gaps: pd.DataFrame,
    data_sources: Sequence[dict[str, Any]],
    run_parameters: dict[str, Any],
    packages: dict[str, str],
    decimals: int,
) -> str:
    """The results report: one self-contained HTML page (plotly.js inline).

    Args:
        title: the page title (dataset and data source).
        source: ``SYNTHETIC data`` | ``real data`` | ``data source unknown``.
        weights: the VGG-16 weights behind the numbers.
        headline: the figure to quote and its table.
        tables: the paper's Tables 1-3.
        evaluation: per-subject, comparison and (composite) composite tables.
        figures: confusion matrices, UF1/UAR bars, per-class recall.
        metrics: ``{namespace}.metrics`` (every metric, and the leakage numbers).
        hybrid_model: ``(id, display name)`` of the model the leakage text quotes.
        fold_class_gaps: folds whose training side lacks a class.
        data_sources: one ``summarise_data_source`` dict per dataset.
        run_parameters: the parameter blocks printed at the end.
        packages: package versions for the footer (``me_emotion``, ``kedro``, ``plotly``).
        decimals: decimal places of every number.
    """
    text = _text()
    every_metric, every_caption = displayed(
        metrics.rename(columns={col.DATA_SOURCE: SOURCE, col.WEIGHTS: WEIGHTS})
    )
    paper_tables = []
    for table_title, table in zip(TABLE_TITLES, tables):
        shown, caption = displayed(table)
        paper_tables.append(f"<h3>{escape(table_title)}</h3>")
        paper_tables.append(table_html(shown, decimals, escape(caption)))
    paper_tables.append(html_page.paragraph(escape(table_note().replace("`", ""))))
    sections = [
        Section(
            "headline",
            f"Headline: protocol {headline.protocol}, {headline.level} level",
            table_html(
                headline.table, decimals, str(text.headline_caption(headline.protocol))
            )
            + str(text.headline_note()),
        ),
        Section(
            "uncertainty",
            f"Per-subject results and model comparison: protocol {evaluation.protocol}, "
            "95% bootstrap over subjects",
            uncertainty_section(evaluation, decimals),
        ),
        *(
            [
                Section(
                    "composite",
                    "MEGC 2019 composite, CASME-II + SAMM part: counts, "
                    "figures by dataset, transfer",
                    composite_section(
                        evaluation.composite, source.startswith("SYNTHETIC"), decimals
                    ),
                )
            ]
            if evaluation.composite is not None
            else []
        ),
        Section(
            "data-source", "Data source", _data_source_section(data_sources, decimals)
        ),
        Section(
            "figures",
            "Figures",
            figure_html(figures.scores, "uf1-uar", str(text.scores_caption()))
            + figure_html(
                figures.confusion, "confusion-matrices", str(text.confusion_caption())
            )
            + figure_html(
                figures.recall, "per-class-recall", str(text.recall_caption())
            ),
        ),
        Section(
            "tables",
            "The paper's tables, random split beside LOSO",
            "\n".join(paper_tables),
        ),
        Section(
            "random-split",
            "Why the random split inflates accuracy",
            _leakage_section(metrics, *hybrid_model, headline, decimals),
        ),
        Section(
            "fold-gaps",
            "Folds trained without a class",
            fold_gaps_section(fold_class_gaps, decimals),
        ),
        Section(
            "all-metrics",
            "Every metric",
            table_html(every_metric, decimals, escape(every_caption)),
        ),
        Section(
            "parameters",
            "Parameters of this run",
            "<pre>"
            + escape(yaml.safe_dump(run_parameters, sort_keys=False))
            + "</pre>",
        ),
    ]
    weights_text = ", ".join(weights)
    banner = text.banner(
        source.startswith("SYNTHETIC"), source, weights_text or "unknown"
    )
    footer = text.footer(packages, weights_text)
    return html_page.page(title, str(banner), sections, str(footer))
