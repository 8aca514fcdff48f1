"""Plotly figures of the results: confusion matrices, UF1/UAR bars, per-class recall.

Every figure's title names the protocol(s), the level (clip or frame) and the
data source, so a figure copied out of the report still says what it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import columns as col

COUNT_SCALE = "Blues"
RECALL_SCALE = "Viridis"
METRIC_COLOURS = {"UF1": "#1f77b4", "UAR": "#ff7f0e"}


@dataclass(frozen=True)
class Confusion:
    """One confusion matrix: ``counts[i, j]`` clips/frames of class i predicted as j."""

    protocol: str
    model: str
    level: str
    classes: tuple[str, ...]
    counts: np.ndarray

    @property
    def row_normalised(self) -> np.ndarray:
        """Each row divided by its total (recall per true class); empty rows stay 0."""
        totals = self.counts.sum(axis=1, keepdims=True)
        return np.divide(
            self.counts,
            totals,
            out=np.zeros(self.counts.shape, dtype=float),
            where=totals > 0,
        )

    @property
    def recall(self) -> np.ndarray:
        """Per-class recall, the diagonal of the row-normalised matrix."""
        return np.diag(self.row_normalised)


def ordered(values: Sequence[str], first: Sequence[str]) -> list[str]:
    """Distinct ``values`` in order of appearance, the ones named in ``first`` leading."""
    distinct = list(dict.fromkeys(values))
    return [v for v in first if v in distinct] + [v for v in distinct if v not in first]


def confusions_of(table: pd.DataFrame) -> list[Confusion]:
    """Split the long ``confusion_matrices`` table into one matrix per model x protocol x level.

    Classes keep the order in which the table first lists them (the training
    stage writes them in class-set order); a class that never occurs in a
    model's rows still gets its row and column, as zeros.
    """
    missing = {
        col.PROTOCOL,
        col.MODEL,
        col.LEVEL,
        col.TRUE_CLASS,
        col.PREDICTED_CLASS,
        col.COUNT,
    } - set(table.columns)
    if missing:
        raise ValueError(
            f"confusion_matrices lacks column(s) {sorted(missing)}; it has "
            f"{sorted(table.columns)} (names in reporting/columns.py)"
        )
    classes = tuple(
        ordered(
            list(table[col.TRUE_CLASS].astype(str))
            + list(table[col.PREDICTED_CLASS].astype(str)),
            (),
        )
    )
    position = {name: i for i, name in enumerate(classes)}
    result = []
    keys = [col.PROTOCOL, col.MODEL, col.LEVEL]
    for (protocol, model, level), rows in table.groupby(keys, sort=False):
        counts = np.zeros((len(classes), len(classes)), dtype=np.int64)
        for true, predicted, count in zip(
            rows[col.TRUE_CLASS].astype(str),
            rows[col.PREDICTED_CLASS].astype(str),
            rows[col.COUNT],
        ):
            counts[position[true], position[predicted]] += int(count)
        result.append(Confusion(str(protocol), str(model), str(level), classes, counts))
    return result


def headline_first(
    confusions: Sequence[Confusion],
    headline: dict[str, str],
    protocols: Sequence[str],
    models: Sequence[str],
) -> list[Confusion]:
    """Headline protocol and level first, then the other protocols; models in table order.

    Args:
        confusions: ``confusions_of``' matrices.
        headline: ``{"protocol": ..., "level": ...}`` of the figure to quote.
        protocols: protocols in table order.
        models: model ids in table order.
    """
    protocol_order = ordered(
        [c.protocol for c in confusions], [headline["protocol"], *protocols]
    )
    level_order = ordered([c.level for c in confusions], [headline["level"]])
    model_order = ordered([c.model for c in confusions], models)
    return sorted(
        confusions,
        key=lambda c: (
            protocol_order.index(c.protocol),
            level_order.index(c.level),
            model_order.index(c.model),
        ),
    )


def in_model_order(metrics: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """``metrics`` rows sorted by model (``models`` first, others after), stable otherwise."""
    order = ordered(list(metrics[col.MODEL]), models)
    return metrics.sort_values(
        col.MODEL, key=lambda s: s.map(order.index), kind="stable"
    )


def _heatmaps(confusion: Confusion, visible: bool) -> tuple[go.Heatmap, go.Heatmap]:
    """Counts (left) and row-normalised (right) heatmaps of one matrix."""
    labels = list(confusion.classes)
    hover = "true %{y}<br>predicted %{x}<br>%{z}<extra></extra>"
    counts = go.Heatmap(
        z=confusion.counts,
        x=labels,
        y=labels,
        colorscale=COUNT_SCALE,
        showscale=False,
        texttemplate="%{z}",
        hovertemplate=hover,
        visible=visible,
        name="counts",
    )
    normalised = go.Heatmap(
        z=confusion.row_normalised.round(3),
        x=labels,
        y=labels,
        zmin=0.0,
        zmax=1.0,
        colorscale=COUNT_SCALE,
        colorbar={"title": {"text": "share of<br>true class"}},
        texttemplate="%{z:.2f}",
        hovertemplate=hover,
        visible=visible,
        name="row-normalised",
    )
    return counts, normalised


def confusion_title(confusion: Confusion, source: str, names: dict[str, str]) -> str:
    model = names.get(confusion.model, confusion.model)
    return (
        f"Confusion matrix: {model}, protocol {confusion.protocol} "
        f"({confusion.level} level), {source}"
    )


def confusion_matrices_figure(
    confusions: Sequence[Confusion], source: str, names: dict[str, str]
) -> go.Figure:
    """Counts and row-normalised matrices side by side, a menu picks model x protocol x level.

    The first confusion in ``confusions`` is shown first; the menu switches the
    visible pair of heatmaps and the title.
    """
    if not confusions:
        raise ValueError("no confusion matrices to draw")
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("counts", "row-normalised (recall on the diagonal)"),
        horizontal_spacing=0.12,
    )
    for i, confusion in enumerate(confusions):
        counts, normalised = _heatmaps(confusion, visible=i == 0)
        fig.add_trace(counts, row=1, col=1)
        fig.add_trace(normalised, row=1, col=2)
    buttons = []
    for i, confusion in enumerate(confusions):
        visible = [False] * (2 * len(confusions))
        visible[2 * i] = visible[2 * i + 1] = True
        label = (
            f"{confusion.protocol} | {names.get(confusion.model, confusion.model)}"
            f" | {confusion.level}"
        )
        title = confusion_title(confusion, source, names)
        buttons.append(
            {
                "label": label,
                "method": "update",
                "args": [{"visible": visible}, {"title.text": title}],
            }
        )
    plot_px = max(300, 60 * len(confusions[0].classes) + 60)
    top, bottom = 150, 80  # px: title, menu and subplot titles above the matrices
    fig.update_layout(
        title={
            "text": confusion_title(confusions[0], source, names),
            "x": 0.0,
            "xanchor": "left",
            "y": 1.0,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 14, "l": 10},
        },
        height=plot_px + top + bottom,
        margin={"t": top, "b": bottom},
        updatemenus=[
            {
                "buttons": buttons,
                "direction": "down",
                "x": 0.0,
                "xanchor": "left",
                "y": 1 + 50 / plot_px,  # 50 px above the matrices, below the title
                "yanchor": "bottom",
                "showactive": True,
            }
        ],
    )
    for axis in (1, 2):
        fig.update_xaxes(title_text="predicted", row=1, col=axis, type="category")
        fig.update_yaxes(
            title_text="true", row=1, col=axis, autorange="reversed", type="category"
        )
    return fig


def scores_figure(
    metrics: pd.DataFrame,
    protocols: Sequence[str],
    level: str,
    source: str,
    names: dict[str, str],
) -> go.Figure:
    """UF1 and UAR per model, one panel per protocol, with each row's chance level."""
    rows = metrics[metrics[col.LEVEL] == level]
    panels = [p for p in protocols if p in set(rows[col.PROTOCOL])]
    if not panels:
        raise ValueError(f"metrics has no {level}-level rows for protocols {protocols}")
    fig = make_subplots(
        rows=1,
        cols=len(panels),
        shared_yaxes=True,
        subplot_titles=[f"protocol {p}" for p in panels],
    )
    for i, protocol in enumerate(panels, start=1):
        panel = rows[rows[col.PROTOCOL] == protocol]
        models = [names.get(m, m) for m in panel[col.MODEL]]
        for metric in ("UF1", "UAR"):
            fig.add_trace(
                go.Bar(
                    x=models,
                    y=panel[col.METRICS[metric]],
                    name=metric,
                    offsetgroup=metric,
                    legendgroup=metric,
                    showlegend=i == 1,
                    marker_color=METRIC_COLOURS[metric],
                    texttemplate="%{y:.2f}",
                    textposition="outside",
                    hovertemplate=f"{protocol}<br>%{{x}}<br>{metric} %{{y:.3f}}<extra></extra>",
                ),
                row=1,
                col=i,
            )
            chance = col.CHANCE[f"chance {metric}"]
            if chance in panel:
                fig.add_trace(
                    go.Scatter(
                        x=models,
                        y=panel[chance],
                        mode="markers",
                        offsetgroup=metric,  # over its own bar (layout.scattermode)
                        marker={
                            "symbol": "line-ew-open",
                            "size": 22,
                            "line": {"width": 3},
                        },
                        marker_color="#222",
                        name="chance level",
                        legendgroup="chance",
                        showlegend=i == 1 and metric == "UF1",
                        hovertemplate=f"chance {metric} %{{y:.3f}}<extra></extra>",
                    ),
                    row=1,
                    col=i,
                )
    fig.update_yaxes(range=[0, 1.12], title_text="score", row=1, col=1)
    fig.update_layout(
        title={
            "text": f"UF1 and UAR per model ({level} level, pooled over folds), {source}",
            "x": 0.0,
        },
        barmode="group",
        scattermode="group",
        height=480,
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def per_class_recall_figure(
    confusions: Sequence[Confusion],
    protocols: Sequence[str],
    level: str,
    source: str,
    names: dict[str, str],
) -> go.Figure:
    """Recall of each class (columns) per model (rows), one panel per protocol."""
    chosen = [c for c in confusions if c.level == level]
    panels = [p for p in protocols if any(c.protocol == p for c in chosen)]
    if not panels:
        raise ValueError(
            f"no {level}-level confusion matrices for protocols {protocols}"
        )
    fig = make_subplots(
        rows=1,
        cols=len(panels),
        shared_yaxes=True,
        subplot_titles=[f"protocol {p}" for p in panels],
        horizontal_spacing=0.06,
    )
    n_models = 1
    for i, protocol in enumerate(panels, start=1):
        panel = [c for c in chosen if c.protocol == protocol]
        n_models = max(n_models, len(panel))
        fig.add_trace(
            go.Heatmap(
                z=np.stack([c.recall for c in panel]).round(3),
                x=list(panel[0].classes),
                y=[names.get(c.model, c.model) for c in panel],
                zmin=0.0,
                zmax=1.0,
                colorscale=RECALL_SCALE,
                showscale=i == len(panels),
                colorbar={"title": {"text": "recall"}},
                texttemplate="%{z:.2f}",
                hovertemplate=f"{protocol}<br>%{{y}}<br>class %{{x}}<br>recall %{{z:.3f}}<extra></extra>",
            ),
            row=1,
            col=i,
        )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", title_text="true class")
    fig.update_layout(
        title={
            "text": f"Per-class recall ({level} level, pooled over folds), {source}",
            "x": 0.0,
        },
        height=max(360, 44 * n_models + 200),
    )
    return fig
