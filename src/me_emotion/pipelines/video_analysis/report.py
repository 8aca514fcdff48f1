"""Timelines (plotly) and the run's self-contained HTML report."""

from __future__ import annotations

import base64
from typing import Any

import cv2
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from me_emotion.core.html_page import (
    Section,
    escape,
    figure_html,
    page,
    paragraph,
    table_html,
)

from .spotting import frames_for, smooth

CLASS3_COLOURS = {
    "negative": "#d62728",
    "positive": "#2ca02c",
    "surprise": "#ff7f0e",
    "others": "#7f7f7f",
    "macro": "#9467bd",
}


def _interval_colour(row: Any) -> str:
    if row.kind == "macro":
        return CLASS3_COLOURS["macro"]
    label = getattr(row, "casme2_class3", None)
    return CLASS3_COLOURS.get(str(label), CLASS3_COLOURS["others"])


def timeline_figure(
    signals: pd.DataFrame,
    intervals: pd.DataFrame,
    fps: float,
    params: dict[str, Any],
    banner: str,
) -> go.Figure:
    """One video's smoothed micro signal, its threshold, and its intervals by label.

    Interval colours follow the CASME-II model's 3-class label (macro
    intervals in purple); hovering shows both models' labels.
    """
    window = frames_for(params["smooth_s"]["micro"], fps)
    micro = smooth(signals["signal_micro"].to_numpy(np.float64), window)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=signals["time_s"],
            y=micro,
            mode="lines",
            name="spotting signal (micro scale)",
            line={"color": "#1f77b4", "width": 1},
        )
    )
    micro_rows = intervals[intervals["kind"] == "micro"]
    if len(micro_rows):
        fig.add_hline(
            y=float(micro_rows["threshold"].iloc[0]),
            line={"dash": "dash", "color": "#444"},
            annotation_text="threshold",
        )
    no_face = ~signals["face"].astype(bool).to_numpy()
    if no_face.any():
        fig.add_trace(
            go.Scatter(
                x=signals["time_s"][no_face],
                y=np.zeros(int(no_face.sum())),
                mode="markers",
                marker={"color": "#000", "size": 3, "symbol": "x"},
                name="no face",
            )
        )
    for row in intervals.itertuples(index=False):
        casme2 = getattr(row, "casme2_label", "")
        samm = getattr(row, "samm_label", "")
        fig.add_vrect(
            x0=row.onset_s,
            x1=row.offset_s,
            fillcolor=_interval_colour(row),
            opacity=0.3,
            line_width=0,
        )
        fig.add_trace(
            go.Scatter(
                x=[row.apex_s],
                y=[row.score],
                mode="markers",
                marker={"color": _interval_colour(row), "size": 9},
                name=f"#{row.interval} {row.kind}",
                showlegend=False,
                hovertext=f"#{row.interval} {row.kind} {row.onset_s:.2f}-{row.offset_s:.2f} s"
                + (
                    f"<br>CASME-II model: {casme2}<br>SAMM model: {samm}"
                    if row.kind == "micro"
                    else ""
                ),
                hoverinfo="text",
            )
        )
    video = str(signals["video"].iloc[0]) if len(signals) else ""
    fig.update_layout(
        title=f"{video}: spotting timeline{banner}",
        xaxis_title="time (s)",
        yaxis_title="regional motion contrast",
        height=320,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
    )
    return fig


def draw_timelines(
    signals: pd.DataFrame,
    labelled_intervals: pd.DataFrame,
    video_index: pd.DataFrame,
    model_sources: dict[str, Any],
    params: dict[str, Any],
) -> dict[str, go.Figure]:
    """``{video stem: plotly figure}``: one timeline per spotted video."""
    fps = video_index.set_index("video")["fps"]
    banner = " (models trained on SYNTHETIC data)" if model_sources["synthetic"] else ""
    figures = {}
    for video, table in signals.groupby("video", sort=True):
        figures[_partition_name(str(video))] = timeline_figure(
            table,
            labelled_intervals[labelled_intervals["video"] == video],
            float(fps[video]),
            params,
            banner,
        )
    return figures


def _partition_name(video: str) -> str:
    return video.replace("/", "__").replace("#", "_")


def _png_data_uri(image: np.ndarray) -> str:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise ValueError("cannot encode the crop strip as PNG")
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode()


def apex_strip(apexes: np.ndarray, tile_px: int) -> str:
    """The apex crops side by side as one inline ``<img>``."""
    if not len(apexes):
        return ""
    tiles = [
        cv2.resize(a, (tile_px, tile_px), interpolation=cv2.INTER_AREA) for a in apexes
    ]
    return f'<img alt="apex crops" src="{_png_data_uri(np.hstack(tiles))}">'


def _label_columns(table: pd.DataFrame) -> list[str]:
    wanted = [
        "interval",
        "kind",
        "onset_s",
        "apex_s",
        "offset_s",
        "score",
        "casme2_label",
        "casme2_class3",
        "samm_label",
        "samm_class3",
    ]
    return [c for c in wanted if c in table]


def models_table(model_sources: dict[str, Any]) -> pd.DataFrame:
    """Per namespace: the model that labels, how it was chosen, its LOSO UF1, interval, chance."""
    rows = [
        {"labels": f"{namespace}_label / {namespace}_class3", **choice}
        for namespace, choice in model_sources.get("recognition", {}).items()
    ]
    return pd.DataFrame(rows)


def render_video_report(  # noqa: PLR0913, PLR0917 - a Kedro node: catalog inputs, in order
    summary: pd.DataFrame,
    labelled_intervals: pd.DataFrame,
    agreement: pd.DataFrame,
    spotting_metrics: pd.DataFrame,
    rejects: pd.DataFrame,
    interval_crops: dict[str, np.ndarray],
    timelines: dict[str, Any],
    model_sources: dict[str, Any],
    params: dict[str, Any],
) -> str:
    """The run's report: per video a timeline, apex crops, both labels; agreement.

    Self-contained (plotly.js and the crops inline): open it offline.
    """
    decimals = int(params["decimals"])
    if model_sources["synthetic"]:
        banner = (
            '<div class="banner synthetic"><strong>SYNTHETIC DATA</strong><br>'
            f"{escape(model_sources['text'])}. Every label and every agreement figure "
            "below comes from models trained on synthetic demo data: they show that the "
            "pipeline runs, not what anyone in these videos felt.</div>"
        )
    else:
        banner = (
            '<div class="banner real">Models trained on: '
            f"{escape(model_sources['text'])}. Models trained on 200 fps lab recordings; "
            "see docs/video.md for their limits on other video.</div>"
        )
    sections = [
        Section(
            "models",
            "Models that label the intervals",
            paragraph(
                "How far to trust a label: each model's unweighted F1 under "
                "leave-one-subject-out (LOSO UF1, unseen subjects), its bootstrap "
                "interval over subjects and the UF1 of chance guessing, from the "
                "training run's metrics."
            )
            + table_html(models_table(model_sources), decimals),
        ),
        Section(
            "summary",
            "Videos",
            table_html(
                summary,
                decimals,
                "One row per video found; status and reason say what happened to it.",
            ),
        ),
        Section(
            "agreement",
            "Agreement of the CASME-II and SAMM models",
            paragraph(
                "Labels mapped to negative / positive / surprise / others (the "
                "composite's class maps, probabilities summed per group); percent "
                "agreement and Cohen's kappa on all four and on the intervals both "
                "models put in the three shared classes. Kappa is empty where "
                "undefined; the reason is in the next column. "
                f"Models trained on: {escape(model_sources['text'])}."
            )
            + table_html(agreement, decimals),
        ),
    ]
    if len(spotting_metrics):
        sections.append(
            Section(
                "spotting",
                "Spotting against the ground truth (MEGC: IoU >= threshold)",
                table_html(spotting_metrics, decimals),
            )
        )
    if len(rejects):
        sections.append(
            Section("rejects", "Rejected files", table_html(rejects, decimals))
        )
    tile = int(params["strip_tile_px"])
    for video in summary["video"]:
        rows = labelled_intervals[labelled_intervals["video"] == video]
        figure = timelines.get(_partition_name(str(video)))
        figure = figure() if callable(figure) else figure  # a partition's loader
        body = (
            figure_html(figure, f"timeline-{_partition_name(str(video))}")
            if figure
            else ""
        )
        chosen = interval_crops["video"] == video
        order = np.argsort(interval_crops["interval"][chosen])
        strip = apex_strip(interval_crops["apex"][chosen][order], tile)
        if strip:
            body += paragraph("Apex crops of the micro intervals, in order:") + strip
        body += (
            table_html(rows[_label_columns(rows)], decimals)
            if len(rows)
            else paragraph("No interval spotted.")
        )
        sections.append(
            Section(f"video-{_partition_name(str(video))}", str(video), body)
        )
    title = "Micro-expression video analysis" + (
        " (SYNTHETIC models)" if model_sources["synthetic"] else ""
    )
    return page(
        title,
        banner,
        sections,
        "Spotting is training-free (regional motion contrast); labels come from the "
        "CASME-II and SAMM models of this project. See docs/video.md.",
    )
