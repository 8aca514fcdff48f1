"""A self-contained HTML page: plotly.js inline once, every figure interactive, offline.

Only string assembly lives here; what goes into a page is decided by the stage
that renders it (the results report of ``pipelines/reporting``, the video
report of ``pipelines/video_analysis``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       max-width: 1200px; margin: 0 auto; padding: 0 24px 48px; color: #222;
       line-height: 1.45; }
h1 { margin-bottom: 4px; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 40px; }
.subtitle { color: #555; margin-top: 0; }
.banner { padding: 14px 18px; border-radius: 6px; font-size: 1.05em; margin: 16px 0; }
.banner.synthetic { background: #b00020; color: #fff; }
.banner.synthetic strong { font-size: 1.25em; letter-spacing: 0.05em; }
.banner.real { background: #e8f5e9; border: 1px solid #66bb6a; }
.facts { background: #f6f8fa; border: 1px solid #e1e4e8; border-radius: 6px;
         padding: 10px 16px; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table.data { border-collapse: collapse; margin: 8px 0 4px; font-size: 0.88em; }
table.data th, table.data td { border: 1px solid #d0d7de; padding: 4px 8px; }
table.data th { background: #f6f8fa; text-align: left; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.data td.text { text-align: left; white-space: nowrap; }
.caption { color: #555; font-size: 0.9em; margin: 2px 0 18px; }
.figure { margin: 12px 0 28px; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; padding: 10px;
      overflow-x: auto; font-size: 0.85em; }
nav a { margin-right: 14px; }
"""


@dataclass(frozen=True)
class Section:
    """One ``<h2>`` section; ``body`` is HTML."""

    anchor: str
    title: str
    body: str


def escape(text: object) -> str:
    """``text`` as HTML text, quotes included."""
    return html.escape(str(text), quote=True)


def paragraph(text: str) -> str:
    """``text`` (HTML) as one paragraph."""
    return f"<p>{text}</p>"


def _cell(value: object, decimals: int) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.{decimals}f}"
    if value is None or value is pd.NA:
        return ""
    return escape(value)


def table_html(table: pd.DataFrame, decimals: int, caption: str = "") -> str:
    """A DataFrame as an HTML table: numbers right-aligned to ``decimals`` places, text left.

    ``caption`` is HTML, shown below the table.
    """
    numeric = [pd.api.types.is_numeric_dtype(table[c]) for c in table.columns]
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    rows = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if is_num else "text"}">{_cell(v, decimals)}</td>'
            for v, is_num in zip(row, numeric)
        )
        + "</tr>"
        for row in table.itertuples(index=False)
    )
    note = f'<p class="caption">{caption}</p>' if caption else ""
    return (
        f'<div class="table-wrap"><table class="data"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>{note}"
    )


def figure_html(fig: go.Figure, div_id: str, caption: str = "") -> str:
    """A plotly figure's ``<div>`` and script; plotly.js itself is in the page head."""
    div = pio.to_html(
        fig,
        include_plotlyjs=False,
        full_html=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )
    note = f'<p class="caption">{caption}</p>' if caption else ""
    return f'<div class="figure">{div}{note}</div>'


def page(title: str, banner: str, sections: Sequence[Section], footer: str) -> str:
    """The whole document: plotly.js inline in the head, a table of contents, sections."""
    # plotly.offline imports IPython (0.7 s): only when a page is written, not
    # at every run's start-up
    from plotly.offline import get_plotlyjs  # noqa: PLC0415

    nav = " ".join(
        f'<a href="#{escape(s.anchor)}">{escape(s.title)}</a>' for s in sections
    )
    body = "\n".join(
        f'<section id="{escape(s.anchor)}"><h2>{escape(s.title)}</h2>\n{s.body}</section>'
        for s in sections
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{STYLE}</style>
<script type="text/javascript">window.PlotlyConfig = {{MathJaxConfig: 'local'}};</script>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<h1>{escape(title)}</h1>
{banner}
<nav>{nav}</nav>
{body}
<footer><p class="caption">{footer}</p></footer>
</body>
</html>
"""
