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
# Interval columns (95% bootstrap over subjects), placed after their score.
INTERVAL_OF = {"F1": "UF1 95% CI", "recall": "UAR 95% CI"}
INTERVAL_KEYS = [col.PROTOCOL, col.MODEL, col.LEVEL]
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


def interval_text(low: float, high: float, decimals: int) -> str:
    """``[low, high]`` to ``decimals`` places; empty when the interval is unknown."""
    if pd.isna(low) or pd.isna(high):
        return ""
    return f"[{low:.{decimals}f}, {high:.{decimals}f}]"


def _interval_cells(
    rows: pd.DataFrame, intervals: pd.DataFrame | None, metric: str, decimals: int
) -> list[str]:
    """``[low, high]`` of ``metric`` (``uf1`` | ``uar``) for each row of ``rows``; "" where none."""
    if intervals is None or intervals.empty:
        return [""] * len(rows)
    missing = sorted(
        {*INTERVAL_KEYS, f"{metric}_low", f"{metric}_high"} - set(intervals.columns)
    )
    if missing:
        raise ValueError(
            f"bootstrap_intervals lacks column(s) {missing}; it has "
            f"{sorted(intervals.columns)} (written by the evaluation stage)"
        )
    keys = [
        *INTERVAL_KEYS,
        *(c for c in col.SOURCE_KEYS if c in rows and c in intervals),
    ]
    bounds = intervals.drop_duplicates(keys).set_index(keys)
    cells = []
    for row in rows[keys].itertuples(index=False):
        key = tuple(row)
        if key in bounds.index:
            found = bounds.loc[key]
            cells.append(
                interval_text(found[f"{metric}_low"], found[f"{metric}_high"], decimals)
            )
        else:
            cells.append("")
    return cells


def metric_table(  # noqa: PLR0913 - the intervals and their format are optional
    metrics: pd.DataFrame,
    models: Sequence[str],
    protocols: Sequence[str],
    dataset: str,
    names: dict[str, str],
    *,
    intervals: pd.DataFrame | None = None,
    decimals: int = 3,
) -> pd.DataFrame:
    """Accuracy, macro precision / recall / F1 of ``models`` under ``protocols``.

    Args:
        metrics: ``{namespace}.metrics`` (one row per model x protocol x level).
        models: model ids, in table order; ids absent from ``metrics`` are skipped.
        protocols: protocol names in order (the paper's random split first).
        dataset: the dataset the rows describe (a table column).
        names: display name per model id.
        intervals: ``{namespace}.bootstrap_intervals`` (95% bootstrap over
            subjects of UF1 / UAR, per protocol x model x level); ``None``: no
            interval columns.
        decimals: decimal places of the interval text.

    Returns:
        One row per model x level x protocol: ``dataset, model, level, protocol``,
        the scores (with intervals: ``UF1 95% CI`` after ``F1 (UF1)`` and
        ``UAR 95% CI`` after ``recall (UAR)``, ``[low, high]``, empty where the
        evaluation stage computed none, e.g. at the other level), the chance
        levels, ``n`` (pooled test predictions), ``folds``, ``data source`` and
        ``VGG-16 weights``.
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
        if intervals is not None and metric in INTERVAL_OF:
            table[INTERVAL_OF[metric]] = _interval_cells(
                rows, intervals, col.METRICS[metric], decimals
            )
    for header, column in col.CHANCE.items():
        if column in rows:
            table[header] = rows[column].astype(float)
    for header, column in (("n", col.N_SAMPLES), ("folds", col.N_FOLDS)):
        if column in rows:
            table[header] = rows[column].astype("Int64")
    table[SOURCE] = rows[col.DATA_SOURCE] if col.DATA_SOURCE in rows else ""
    table[WEIGHTS] = rows[col.WEIGHTS] if col.WEIGHTS in rows else ""
    return table.reset_index(drop=True)


def headline_table(  # noqa: PLR0913 - the intervals and their format are optional
    metrics: pd.DataFrame,
    models: Sequence[str],
    protocol: str,
    level: str,
    names: dict[str, str],
    *,
    intervals: pd.DataFrame | None = None,
    decimals: int = 3,
) -> pd.DataFrame:
    """UF1, UAR, accuracy and weighted F1 of every model under one protocol and level.

    Args:
        metrics: ``{namespace}.metrics``.
        models: the models to list first, in order; the other models of
            ``metrics`` follow in order of appearance.
        protocol, level: the headline protocol and level (``clip`` | ``frame``).
        names: display name per model id.
        intervals, decimals: as for ``metric_table``.

    Returns:
        ``model, protocol, level, UF1, UAR, accuracy, weighted F1`` (with
        intervals: ``UF1 95% CI`` after ``UF1``, ``UAR 95% CI`` after ``UAR``),
        the chance levels and ``n``: ``metric_table``'s rows of that protocol
        and level.
    """
    every_model = [
        *models,
        *(m for m in dict.fromkeys(metrics[col.MODEL]) if m not in models),
    ]
    rows = metric_table(
        metrics,
        every_model,
        [protocol],
        "",
        names,
        intervals=intervals,
        decimals=decimals,
    )
    rows = rows[rows["level"] == level]
    table = rows[["model", "protocol", "level"]].copy()
    for header, column in HEADLINE_SCORES.items():
        table[header] = rows[column]
        interval = INTERVAL_OF.get(SCORES[column])
        if interval in rows:
            table[interval] = rows[interval]
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


def _at(table: pd.DataFrame, protocol: str, level: str) -> pd.DataFrame:
    return table[(table[col.PROTOCOL] == protocol) & (table[col.LEVEL] == level)]


def _in_order(models: Sequence[str], present: Sequence[str]) -> list[str]:
    """``models`` present in the data, then the data's other models in order of appearance."""
    present = list(dict.fromkeys(present))
    return [m for m in models if m in present] + [m for m in present if m not in models]


def subject_table(
    subject_metrics: pd.DataFrame,
    models: Sequence[str],
    protocol: str,
    level: str,
    names: dict[str, str],
) -> pd.DataFrame:
    """Per-subject UF1 of every model under one protocol and level, one row per model.

    Args:
        subject_metrics: ``{namespace}.subject_metrics`` (protocol x model x
            level x subject: ``uf1``, ``uar``, ``accuracy``, ``n_samples``).
        models, protocol, level, names: as for ``headline_table``.

    Returns:
        ``model``, then one column per test subject, headed
        ``<subject> (<n> clips)`` (``<dataset>/<subject>`` when two datasets
        share a subject name), holding its UF1, then ``median``, ``min``
        and ``max`` over subjects.
    """
    rows = _at(subject_metrics, protocol, level)
    if rows.empty:
        return pd.DataFrame(columns=["model"])
    subject = rows["subject"].astype(str)
    if "dataset" in rows:
        pairs = rows[["dataset", "subject"]].drop_duplicates()
        if pairs["subject"].duplicated().any():  # one name in two datasets
            subject = rows["dataset"].astype(str) + "/" + subject
    clips = rows.groupby(subject)["n_samples"].first()
    rows = rows.assign(
        _subject=[
            f"{s} ({int(clips[s])} clip{'' if int(clips[s]) == 1 else 's'})"
            for s in subject
        ]
    )
    order = _in_order(models, list(rows[col.MODEL]))
    wide = rows.pivot_table(
        index=col.MODEL, columns="_subject", values="uf1", aggfunc="first", sort=True
    ).reindex(order)
    table = wide.rename_axis(columns=None).reset_index(drop=True)
    table.insert(0, "model", [names.get(m, m) for m in order])
    table["median"] = wide.median(axis=1).to_numpy()
    table["min"] = wide.min(axis=1).to_numpy()
    table["max"] = wide.max(axis=1).to_numpy()
    return table


def comparison_table(
    model_comparison: pd.DataFrame,
    models: Sequence[str],
    protocol: str,
    level: str,
    names: dict[str, str],
    *,
    decimals: int = 3,
) -> pd.DataFrame:
    """Each model minus the reference model (paired bootstrap over subjects).

    Returns:
        ``model, compared with``, ``UF1 difference`` with its ``95% CI`` and its
        two-sided bootstrap p-value, Holm-adjusted over the protocol's
        comparisons (the column names how many), the same for UAR.

    Raises:
        ValueError: the comparison rows predate the Holm-adjusted p-values.
    """
    rows = _at(model_comparison, protocol, level)
    if rows.empty:
        return pd.DataFrame(columns=["model", "compared with"])
    missing = [
        c for c in ("uf1_p_holm", "uar_p_holm", "n_comparisons") if c not in rows
    ]
    if missing:
        raise ValueError(
            f"model_comparison lacks {missing}: it was written by an older "
            "evaluation stage; re-run the bootstrap_over_subjects node"
        )
    family = int(rows["n_comparisons"].iloc[0])
    order = _in_order(models, list(rows[col.MODEL]))
    rows = rows.set_index(col.MODEL).loc[order]
    table = pd.DataFrame(
        {
            "model": [names.get(m, m) for m in order],
            "compared with": [names.get(r, r) for r in rows["reference_model"]],
        }
    )
    for metric, label in (("uf1", "UF1"), ("uar", "UAR")):
        table[f"{label} difference"] = rows[f"{metric}_difference"].to_numpy(float)
        table[f"{label} difference 95% CI"] = [
            interval_text(low, high, decimals)
            for low, high in zip(
                rows[f"{metric}_difference_low"], rows[f"{metric}_difference_high"]
            )
        ]
        table[f"{label} p, Holm over {family}"] = rows[f"{metric}_p_holm"].to_numpy(
            float
        )
    return table


def composite_figures_table(  # noqa: PLR0913 - one argument per source table and choice
    metrics: pd.DataFrame,
    figures_by_dataset: pd.DataFrame,
    models: Sequence[str],
    level: str,
    names: dict[str, str],
    *,
    intervals: pd.DataFrame | None = None,
    decimals: int = 3,
) -> pd.DataFrame:
    """Composite LOSO on every clip, per source dataset, and both transfer directions.

    Args:
        metrics: ``composite.metrics`` (its ``composite`` protocol rows: all clips).
        figures_by_dataset: ``composite.figures_by_dataset`` (composite LOSO
            on one dataset's clips; ``cross_dataset`` per direction).
        models, level, names: which models, in which order, at which level.
        intervals: ``composite.bootstrap_intervals`` for the all-clips row.

    Returns:
        Per model: ``evaluation``, ``trained on``, ``tested on``, ``n``, ``UF1``,
        ``UF1 95% CI``, ``UAR``, ``UAR 95% CI``, ``chance UF1``; the all-clips
        composite LOSO row first (the only one with an interval), then one row
        per source dataset, then the transfer directions.
    """
    pooled = metric_table(
        metrics,
        models,
        ["composite"],
        "",
        names,
        intervals=intervals,
        decimals=decimals,
    )
    pooled = pooled[pooled["level"] == level]
    parts = pd.DataFrame(
        {
            "_model": pooled["model"],
            "evaluation": "MEGC 2019 composite, CASME-II + SAMM part (LOSO), all clips",
            "trained on": "all",
            "tested on": "all",
            "n": pooled["n"] if "n" in pooled else pd.NA,
            "UF1": pooled["F1 (UF1)"],
            "UF1 95% CI": pooled.get("UF1 95% CI", ""),
            "UAR": pooled["recall (UAR)"],
            "UAR 95% CI": pooled.get("UAR 95% CI", ""),
            "chance UF1": pooled.get("chance UF1", float("nan")),
            "_rank": 0,
        }
    )
    split = figures_by_dataset[figures_by_dataset[col.LEVEL] == level]
    split = split[split[col.MODEL].isin(models)]
    other = pd.DataFrame(
        {
            "_model": split[col.MODEL].map(lambda m: names.get(m, m)),
            "evaluation": split["evaluation"],
            "trained on": split["train_dataset"],
            "tested on": split["test_dataset"],
            "n": split["n_samples"],
            "UF1": split["uf1"].astype(float),
            "UF1 95% CI": "",
            "UAR": split["uar"].astype(float),
            "UAR 95% CI": "",
            "chance UF1": split["chance_uf1"].astype(float),
            "_rank": (split[col.PROTOCOL] != "composite").astype(int) + 1,
        }
    )
    model_rank = {names.get(m, m): i for i, m in enumerate(models)}
    table = pd.concat([parts, other], ignore_index=True)
    table["_order"] = table["_model"].map(model_rank)
    table = table.sort_values(["_order", "_rank"], kind="stable")
    table = table.rename(columns={"_model": "model"}).drop(columns=["_order", "_rank"])
    table["n"] = table["n"].astype("Int64")
    return table.reset_index(drop=True)
