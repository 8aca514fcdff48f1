"""The result tables: one builder (``metric_table``) serves the paper's tables and the headline.

Rows of one model and level sit next to each other with the paper's random
split first and LOSO after it, so the inflated and the honest figure are read
side by side. Each row carries its chance levels.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from . import columns as col

# The paper's four scores; on pooled predictions its macro recall is UAR and
# its macro F1 is UF1, and the headers say so.
SCORES = {
    "accuracy": "accuracy",
    "precision": "precision",
    "recall (UAR)": "recall",
    "F1 (UF1)": "F1",
    "weighted F1": "weighted F1",
}
SOURCE = "data source"
WEIGHTS = "VGG-16 weights"
# The headline's columns: the field's two scores first, then the paper's.
HEADLINE_SCORES = {
    "UF1": "F1 (UF1)",
    "UAR": "recall (UAR)",
    "accuracy": "accuracy",
    "weighted F1": "weighted F1",
}
HEADLINE_CHANCE = ("chance UF1", "chance UAR", "chance accuracy")
TABLE_TITLES = (
    "Table 1: HybridMicroNet",
    "Table 2: AU-enhanced model (annotated Action Units + K-means + CNN features)",
    "Table 3: baselines, HybridMicroNet and the AU-enhanced model",
)


def model_order(
    hybrid_model: str, baselines: Sequence[str], enhanced_model: str
) -> list[str]:
    """Table order of the models: the hybrid model first, baselines, the AU-enhanced model last."""
    return [hybrid_model, *baselines, enhanced_model]


def metric_table(
    metrics: pd.DataFrame,
    models: Sequence[str],
    protocols: Sequence[str],
    dataset: str,
    names: dict[str, str],
) -> pd.DataFrame:
    """Accuracy, macro precision / recall / F1 of ``models`` under ``protocols``.

    Args:
        metrics: ``{namespace}.metrics`` (one row per model x protocol x level).
        models: model ids, in table order; ids absent from ``metrics`` are skipped.
        protocols: protocol names in order (the paper's random split first).
        dataset: the dataset the rows describe (a table column).
        names: display name per model id.

    Returns:
        One row per model x level x protocol: ``dataset, model, level, protocol``,
        the scores, the chance levels, ``n`` (pooled test predictions),
        ``folds``, ``data source`` and ``VGG-16 weights``.
    """
    needed = {col.PROTOCOL, col.MODEL, col.LEVEL, *col.METRICS.values()}
    missing = sorted(needed - set(metrics.columns))
    if missing:
        raise ValueError(
            f"metrics lacks column(s) {missing}; it has {sorted(metrics.columns)} "
            "(names in reporting/columns.py)"
        )
    rows = metrics[
        metrics[col.MODEL].isin(models) & metrics[col.PROTOCOL].isin(protocols)
    ].copy()
    model_rank = {m: i for i, m in enumerate(models)}
    protocol_rank = {p: i for i, p in enumerate(protocols)}
    rows["_order"] = list(
        zip(
            rows[col.MODEL].map(model_rank),
            rows[col.LEVEL].map({"clip": 0, "frame": 1}).fillna(2),
            rows[col.PROTOCOL].map(protocol_rank),
        )
    )
    rows = rows.sort_values("_order", kind="stable")
    table = pd.DataFrame(
        {
            "dataset": dataset,
            "model": rows[col.MODEL].map(lambda m: names.get(m, m)),
            "protocol": rows[col.PROTOCOL],
            "level": rows[col.LEVEL],
        }
    )
    for header, metric in SCORES.items():
        table[header] = rows[col.METRICS[metric]].astype(float)
    for header, column in col.CHANCE.items():
        if column in rows:
            table[header] = rows[column].astype(float)
    for header, column in (("n", col.N_SAMPLES), ("folds", col.N_FOLDS)):
        if column in rows:
            table[header] = rows[column].astype("Int64")
    table[SOURCE] = rows[col.DATA_SOURCE] if col.DATA_SOURCE in rows else ""
    table[WEIGHTS] = rows[col.WEIGHTS] if col.WEIGHTS in rows else ""
    return table.reset_index(drop=True)


def headline_table(
    metrics: pd.DataFrame,
    models: Sequence[str],
    protocol: str,
    level: str,
    names: dict[str, str],
) -> pd.DataFrame:
    """UF1, UAR, accuracy and weighted F1 of every model under one protocol and level.

    Args:
        metrics: ``{namespace}.metrics``.
        models: the models to list first, in order; the other models of
            ``metrics`` follow in order of appearance.
        protocol, level: the headline protocol and level (``clip`` | ``frame``).
        names: display name per model id.

    Returns:
        ``model, protocol, level, UF1, UAR, accuracy, weighted F1``, the chance
        levels and ``n``: ``metric_table``'s rows of that protocol and level.
    """
    every_model = [
        *models,
        *(m for m in dict.fromkeys(metrics[col.MODEL]) if m not in models),
    ]
    rows = metric_table(metrics, every_model, [protocol], "", names)
    rows = rows[rows["level"] == level]
    table = rows[["model", "protocol", "level"]].copy()
    for header, column in HEADLINE_SCORES.items():
        table[header] = rows[column]
    for header in (*HEADLINE_CHANCE, "n"):
        if header in rows:
            table[header] = rows[header]
    return table.reset_index(drop=True)


def displayed(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """``table`` without its one-valued dataset / source / weights columns; a caption names them."""
    constant = constant_columns(table, ["dataset", SOURCE, WEIGHTS])
    caption = "; ".join(f"{name}: {value}" for name, value in constant.items())
    return table.drop(columns=list(constant)), caption


def constant_columns(table: pd.DataFrame, candidates: Sequence[str]) -> dict[str, str]:
    """``{column: value}`` of the ``candidates`` that hold one value in every row."""
    return {
        c: str(table[c].iloc[0])
        for c in candidates
        if c in table and len(table) and table[c].nunique(dropna=False) == 1
    }


def _cell(value: object, decimals: int) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.{decimals}f}"
    if value is None or value is pd.NA:
        return ""
    return str(value).replace("|", "\\|")


def markdown_table(table: pd.DataFrame, decimals: int = 3) -> str:
    """A GitHub-flavoured Markdown table, floats to ``decimals`` places."""
    header = "| " + " | ".join(str(c) for c in table.columns) + " |"
    rule = (
        "|"
        + "|".join(
            "---:" if pd.api.types.is_numeric_dtype(table[c]) else "---"
            for c in table.columns
        )
        + "|"
    )
    lines = [header, rule]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v, decimals) for v in row) + " |")
    return "\n".join(lines)
