"""Reporting nodes: data-source summary, the paper's tables, plotly figures, HTML report.

Every node is pure: it receives tables, figures and parameters and returns
data; the catalog writes CSV, Markdown, plotly JSON and the HTML page.
Column names of the training stage's outputs live in ``columns.py``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import PurePath
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import yaml

from me_emotion.parameters import check_parameter_keys

from . import columns as col
from . import html_page
from .figures import (
    Confusion,
    confusion_matrices_figure,
    confusions_of,
    ordered,
    per_class_recall_figure,
    scores_figure,
)
from .tables import SOURCE, WEIGHTS, constant_columns, markdown_table, metric_table

PARAMETER_KEYS = {
    "dataset",
    "headline",
    "protocols",
    "hybrid_model",
    "enhanced_model",
    "baselines",
    "model_names",
    "decimals",
    "parameter_groups",
}
PARAMETERS_FILE = "conf/base/parameters_reporting.yml"
RANDOM_SPLIT = "paper_random_split"


def check_params(params: dict[str, Any]) -> None:
    """Raise on a missing or misspelt key of ``params:<namespace>.reporting``."""
    check_parameter_keys(
        params, PARAMETER_KEYS, "<namespace>.reporting", PARAMETERS_FILE
    )
    headline = params["headline"]
    if set(headline) != {"protocol", "level"}:
        raise ValueError(
            f"reporting.headline needs exactly 'protocol' and 'level', got {sorted(headline)} "
            f"(see {PARAMETERS_FILE})"
        )
    if headline["protocol"] not in params["protocols"]:
        raise ValueError(
            f"reporting.headline.protocol {headline['protocol']!r} is not one of "
            f"reporting.protocols {params['protocols']} (see {PARAMETERS_FILE})"
        )


def _model_order(params: dict[str, Any]) -> list[str]:
    """Hybrid model first, then the baselines, the AU-enhanced model last."""
    return [params["hybrid_model"], *params["baselines"], params["enhanced_model"]]


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
    metrics: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The paper's Tables 1-3, each with a protocol column (random split beside LOSO).

    Returns:
        ``(table1, table2, table3)``: the hybrid model; the AU-enhanced model;
        the baselines, the hybrid model and the AU-enhanced model together.
        Columns: see ``tables.metric_table``.
    """
    check_params(params)
    names = _names(params)
    protocols = params["protocols"]
    dataset = params["dataset"]
    return (
        metric_table(metrics, [params["hybrid_model"]], protocols, dataset, names),
        metric_table(metrics, [params["enhanced_model"]], protocols, dataset, names),
        metric_table(metrics, _model_order(params), protocols, dataset, names),
    )


TABLE_TITLES = (
    "Table 1: HybridMicroNet",
    "Table 2: AU-enhanced model (annotated Action Units + K-means + CNN features)",
    "Table 3: baselines, HybridMicroNet and the AU-enhanced model",
)
TABLE_NOTE = (
    "precision, recall and F1 are macro averages over classes, computed on the "
    "test predictions pooled over folds, where macro recall is UAR and macro F1 is "
    "UF1. Chance levels: accuracy of always answering the most frequent class, UF1 "
    "of a uniformly random guess, UAR = 1 / number of classes. "
    "`paper_random_split` splits frames at random, so frames of one clip are on "
    "both sides: its figures measure leakage, not recognition. `loso` "
    "(leave-one-subject-out) is the headline."
)


def displayed(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """``table`` without its one-valued dataset / source / weights columns; a caption names them."""
    constant = constant_columns(table, ["dataset", SOURCE, WEIGHTS])
    caption = "; ".join(f"{name}: {value}" for name, value in constant.items())
    return table.drop(columns=list(constant)), caption


def render_tables_markdown(
    table1: pd.DataFrame,
    table2: pd.DataFrame,
    table3: pd.DataFrame,
    metrics: pd.DataFrame,
    params: dict[str, Any],
) -> str:
    """Tables 1-3 as one Markdown document, labelled with the data source and weights."""
    check_params(params)
    source = data_source_label(metrics)
    decimals = int(params["decimals"])
    headline = params["headline"]
    parts = [f"# Results: {params['dataset']} ({source})", ""]
    if source.startswith("SYNTHETIC"):
        parts += [
            "**SYNTHETIC DATA: these numbers show that the pipeline runs, not how "
            "well micro-expressions are recognised.**",
            "",
        ]
    parts += [
        f"Headline: protocol `{headline['protocol']}`, {headline['level']} level, "
        "UF1 and UAR.",
        "",
        markdown_table(headline_table(metrics, params), decimals),
        "",
    ]
    for title, table in zip(TABLE_TITLES, (table1, table2, table3)):
        shown, caption = displayed(table)
        parts += [f"## {title}", "", markdown_table(shown, decimals), ""]
        if caption:
            parts += [caption, ""]
    parts += [TABLE_NOTE, ""]
    return "\n".join(parts)


# ---- figures -------------------------------------------------------------------------


def _ordered_confusions(
    confusion_matrices: pd.DataFrame, params: dict[str, Any]
) -> list[Confusion]:
    """Headline protocol and level first, then the other protocols; models in table order."""
    confusions = confusions_of(confusion_matrices)
    headline = params["headline"]
    protocols = ordered(
        [c.protocol for c in confusions],
        [headline["protocol"], *params["protocols"]],
    )
    levels = ordered([c.level for c in confusions], [headline["level"]])
    models = ordered([c.model for c in confusions], _model_order(params))
    return sorted(
        confusions,
        key=lambda c: (
            protocols.index(c.protocol),
            levels.index(c.level),
            models.index(c.model),
        ),
    )


def plot_confusion_matrices(
    confusion_matrices: pd.DataFrame, metrics: pd.DataFrame, params: dict[str, Any]
) -> go.Figure:
    """One interactive figure: counts and row-normalised matrix per model x protocol x level.

    A menu picks the matrix; the headline (hybrid model, headline protocol and
    level) is shown first. The title names protocol, level and data source.
    """
    check_params(params)
    return confusion_matrices_figure(
        _ordered_confusions(confusion_matrices, params),
        data_source_label(metrics),
        _names(params),
    )


def _in_model_order(metrics: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    order = ordered(list(metrics[col.MODEL]), _model_order(params))
    return metrics.sort_values(
        col.MODEL, key=lambda s: s.map(order.index), kind="stable"
    )


def plot_uf1_uar(metrics: pd.DataFrame, params: dict[str, Any]) -> go.Figure:
    """Bar chart of UF1 and UAR per model, one panel per protocol, at the headline level."""
    check_params(params)
    return scores_figure(
        _in_model_order(metrics, params),
        ordered(list(metrics[col.PROTOCOL]), params["protocols"]),
        params["headline"]["level"],
        data_source_label(metrics),
        _names(params),
    )


def plot_per_class_recall(
    confusion_matrices: pd.DataFrame, metrics: pd.DataFrame, params: dict[str, Any]
) -> go.Figure:
    """Heatmap of per-class recall (model x class), one panel per protocol."""
    check_params(params)
    confusions = _ordered_confusions(confusion_matrices, params)
    return per_class_recall_figure(
        confusions,
        ordered([c.protocol for c in confusions], params["protocols"]),
        params["headline"]["level"],
        data_source_label(metrics),
        _names(params),
    )


# ---- HTML report -----------------------------------------------------------------------


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:  # pragma: no cover - every package here is installed
        return "not installed"


def headline_table(metrics: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """UF1, UAR, accuracy and weighted F1 of every model under the headline protocol."""
    headline = params["headline"]
    rows = metrics[
        (metrics[col.PROTOCOL] == headline["protocol"])
        & (metrics[col.LEVEL] == headline["level"])
    ]
    rows = _in_model_order(rows, params)
    names = _names(params)
    table = pd.DataFrame(
        {
            "model": rows[col.MODEL].map(lambda m: names.get(m, m)),
            "protocol": rows[col.PROTOCOL],
            "level": rows[col.LEVEL],
        }
    )
    for name in ("UF1", "UAR", "accuracy", "weighted F1"):
        table[name] = rows[col.METRICS[name]].astype(float)
    for name in ("chance UF1", "chance UAR", "chance accuracy"):
        if col.CHANCE[name] in rows:
            table[name] = rows[col.CHANCE[name]].astype(float)
    if col.N_SAMPLES in rows:
        table["n"] = rows[col.N_SAMPLES].astype("Int64")
    return table.reset_index(drop=True)


def _banner(source: str, weights: list[str]) -> str:
    weights_text = html_page.escape(", ".join(weights) or "unknown")
    if source.startswith("SYNTHETIC"):
        return (
            '<div class="banner synthetic"><strong>SYNTHETIC DATA</strong><br>'
            "Every number below comes from the synthetic demo releases (real face "
            "photographs animated with rendered micro-movements). They show that the "
            "pipeline runs end to end, not how well micro-expressions are recognised."
            f"<br>VGG-16 weights: {weights_text}</div>"
        )
    return (
        f'<div class="banner real">Results on <strong>{html_page.escape(source)}</strong>. '
        f"VGG-16 weights: {weights_text}</div>"
    )


def _data_source_section(
    data_sources: tuple[dict[str, Any], ...], decimals: int
) -> str:
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
    parts = [html_page.table_html(overview, decimals)]
    for s in data_sources:
        classes = pd.DataFrame(
            {
                "class": list(s["clips_per_class"]),
                "clips": list(s["clips_per_class"].values()),
            }
        )
        parts.append(f"<h3>{html_page.escape(s['dataset'])}: clips per class</h3>")
        parts.append(html_page.table_html(classes, decimals))
        for key, what in (
            ("ingestion_reject_reasons", "spreadsheet rows rejected"),
            ("face_reject_reasons", "clips without a face"),
        ):
            reasons = s[key]
            if reasons:
                table = pd.DataFrame(
                    {"reason": list(reasons), "count": list(reasons.values())}
                )
                parts.append(f"<h3>{html_page.escape(s['dataset'])}: {what}</h3>")
                parts.append(html_page.table_html(table, decimals))
    return "\n".join(parts)


def _leakage_text(metrics: pd.DataFrame, params: dict[str, Any], decimals: int) -> str:
    """Plain-language explanation, with this run's own random-split vs LOSO numbers."""
    text = [
        html_page.paragraph(
            "The paper splits the <em>frames</em> of all clips at random, 70% for "
            "training and 30% for testing, after adding augmented copies of each frame. "
            "A micro-expression clip gives several nearly identical frames, and an "
            "augmented copy is the same frame flipped, turned or rescaled a little. "
            "After a random split almost every test frame has a sibling from the "
            "<em>same clip</em> (same person, same light, same movement) in the "
            "training set, so a model can score well by recognising the clip it has "
            "already seen rather than the expression."
        ),
        html_page.paragraph(
            "Leave-one-subject-out (<code>loso</code>) tests each person on a model "
            "trained without any of that person's clips: the situation of a new user. "
            "That is the number to quote. UF1 and UAR average over classes, so a model "
            "that always answers the most frequent class does not look good; plain "
            "accuracy does reward that, which is why the chance level is printed beside "
            "every table."
        ),
    ]
    hybrid = params["hybrid_model"]
    name = _names(params).get(hybrid, hybrid)
    rows = metrics[metrics[col.MODEL] == hybrid]
    headline = params["headline"]
    split = rows[rows[col.PROTOCOL] == RANDOM_SPLIT]
    honest = rows[
        (rows[col.PROTOCOL] == headline["protocol"])
        & (rows[col.LEVEL] == headline["level"])
    ]
    if len(split) and len(honest) and headline["protocol"] != RANDOM_SPLIT:
        split = split.sort_values(col.LEVEL, key=lambda s: s != "frame").iloc[0]
        honest = honest.iloc[0]
        acc = col.METRICS["accuracy"]
        uf1 = col.METRICS["UF1"]
        text.append(
            html_page.paragraph(
                f"In this run, {html_page.escape(name)} reached accuracy "
                f"<strong>{split[acc]:.{decimals}f}</strong> (UF1 {split[uf1]:.{decimals}f}) "
                f"under <code>{RANDOM_SPLIT}</code> ({html_page.escape(str(split[col.LEVEL]))} "
                f"level) and accuracy <strong>{honest[acc]:.{decimals}f}</strong> "
                f"(UF1 {honest[uf1]:.{decimals}f}) under "
                f"<code>{html_page.escape(headline['protocol'])}</code> "
                f"({html_page.escape(headline['level'])} level)."
            )
        )
    return "\n".join(text)


def _fold_gaps_section(gaps: pd.DataFrame, decimals: int) -> str:
    """The folds whose training side lacks a class, or a line saying there are none."""
    if gaps.empty:
        return html_page.paragraph(
            "Every fold's training side holds every class."
        )
    return html_page.table_html(
        gaps,
        decimals,
        "A fold cannot predict a class it never trained on: those classes' test "
        "clips in that fold are scored as errors (recall 0). More subjects with "
        "these classes remove the gap.",
    )


def render_report(  # noqa: PLR0917 - one input per report section, wired by the pipeline
    metrics: pd.DataFrame,
    table1: pd.DataFrame,
    table2: pd.DataFrame,
    table3: pd.DataFrame,
    confusion_figure: go.Figure,
    scores: go.Figure,
    recall: go.Figure,
    params: dict[str, Any],
    parameters: dict[str, Any],
    fold_class_gaps: pd.DataFrame,
    *data_sources: dict[str, Any],
) -> str:
    """One self-contained HTML page: data source, weights, tables, figures, parameters.

    Args:
        metrics: ``{namespace}.metrics``.
        table1, table2, table3: ``build_result_tables``' outputs.
        confusion_figure, scores, recall: the three plotly figures.
        params: ``params:<namespace>.reporting``.
        parameters: every parameter of the run (Kedro's ``parameters``); the
            groups named in ``params["parameter_groups"]`` are printed.
        fold_class_gaps: ``{namespace}.fold_class_gaps``, the folds whose
            training side lacks a class (listed in their own section).
        data_sources: one ``summarise_data_source`` dict per dataset.

    Returns:
        The page (plotly.js inline, about 4 MB), readable offline.
    """
    check_params(params)
    decimals = int(params["decimals"])
    source = data_source_label(metrics)
    if any(s["source"] == "synthetic" for s in data_sources):
        source = "SYNTHETIC data"  # the clip index says so even where metrics do not
    weights = sorted(
        {w for s in data_sources for w in s["vgg16_weights"]}
        | (set(metrics[col.WEIGHTS].astype(str)) if col.WEIGHTS in metrics else set())
    )
    headline = params["headline"]
    escape = html_page.escape

    def tables_html() -> str:
        parts = []
        for title, table in zip(TABLE_TITLES, (table1, table2, table3)):
            shown, caption = displayed(table)
            parts.append(f"<h3>{escape(title)}</h3>")
            parts.append(html_page.table_html(shown, decimals, escape(caption)))
        parts.append(html_page.paragraph(escape(TABLE_NOTE.replace("`", ""))))
        return "\n".join(parts)

    every_metric, every_caption = displayed(
        metrics.rename(columns={col.DATA_SOURCE: SOURCE, col.WEIGHTS: WEIGHTS})
    )
    sections = [
        html_page.Section(
            "headline",
            f"Headline: protocol {headline['protocol']}, {headline['level']} level",
            html_page.table_html(
                headline_table(metrics, params),
                decimals,
                f"Protocol <code>{escape(headline['protocol'])}</code>: test "
                "predictions pooled over folds. Chance UF1: a uniformly random guess; "
                "chance UAR: 1 / number of classes; chance accuracy: always the most "
                "frequent class.",
            ),
        ),
        html_page.Section(
            "data-source", "Data source", _data_source_section(data_sources, decimals)
        ),
        html_page.Section(
            "figures",
            "Figures",
            html_page.figure_html(
                scores,
                "uf1-uar",
                "UF1 and UAR per model and protocol; a dark dash marks the chance "
                "level of the bar beneath it.",
            )
            + html_page.figure_html(
                confusion_figure,
                "confusion-matrices",
                "Pick protocol | model | level in the menu. Left: counts; right: each "
                "row divided by the number of samples of that true class.",
            )
            + html_page.figure_html(
                recall, "per-class-recall", "Recall of each true class, per model."
            ),
        ),
        html_page.Section(
            "tables", "The paper's tables, random split beside LOSO", tables_html()
        ),
        html_page.Section(
            "random-split",
            "Why the random split inflates accuracy",
            _leakage_text(metrics, params, decimals),
        ),
        html_page.Section(
            "fold-gaps",
            "Folds trained without a class",
            _fold_gaps_section(fold_class_gaps, decimals),
        ),
        html_page.Section(
            "all-metrics",
            "Every metric",
            html_page.table_html(every_metric, decimals, escape(every_caption)),
        ),
        html_page.Section(
            "parameters",
            "Parameters of this run",
            "<pre>"
            + escape(
                yaml.safe_dump(
                    {g: parameters.get(g) for g in params["parameter_groups"]},
                    sort_keys=False,
                )
            )
            + "</pre>",
        ),
    ]
    footer = (
        f"me_emotion {_version('me_emotion')}, kedro {_version('kedro')}, "
        f"plotly {_version('plotly')}. VGG-16 weights: {escape(', '.join(weights))}."
    )
    title = f"me_emotion results: {params['dataset']} ({source})"
    return html_page.page(title, _banner(source, weights), sections, footer)
