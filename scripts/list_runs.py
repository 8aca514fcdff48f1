"""List the project's MLflow runs with their headline UF1 / UAR (needs the `tracking` extra).

Run from the project root:

    python scripts/list_runs.py                         # every run, HybridMicroNet
    python scripts/list_runs.py --model svm --last 5
    python scripts/list_runs.py --tracking-uri http://mlflow.example.org:5000

The tracking URI comes from conf/base/mlflow.yml (conf/local/mlflow.yml
overrides it). Each namespace's headline protocol and level are the ones the
run reported with (``<namespace>.reporting.headline``), LOSO at clip level by
default. Below the table, the parameters whose values differ between the
listed runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

NAMESPACES = ("casme2", "samm", "composite")
DEFAULT_HEADLINE = ("loso", "clip")
SHOWN_PARAMETERS = 25  # differing parameters printed at most


def configured_tracking_uri(project: Path) -> str:
    """``server.mlflow_tracking_uri`` of conf/local/mlflow.yml, else conf/base/mlflow.yml."""
    for env in ("local", "base"):
        path = project / "conf" / env / "mlflow.yml"
        if path.is_file():
            server = (yaml.safe_load(path.read_text()) or {}).get("server") or {}
            if server.get("mlflow_tracking_uri"):
                return server["mlflow_tracking_uri"]
    raise SystemExit(
        f"No server.mlflow_tracking_uri in {project / 'conf'}/*/mlflow.yml: run from "
        "the project root or pass --tracking-uri"
    )


def headline_table(runs: pd.DataFrame, model: str) -> pd.DataFrame:
    """One row per run: name, start, data source, and UF1 / UAR per namespace."""
    table = pd.DataFrame(
        {
            "run": runs["tags.mlflow.runName"].fillna(""),
            "started (UTC)": pd.to_datetime(runs["start_time"]).dt.strftime(
                "%Y-%m-%d %H:%M"
            ),
            "data": runs.get("tags.data_source", pd.Series("", index=runs.index)),
        }
    )
    table.index = runs["run_id"].str[:8].to_numpy()
    for namespace in NAMESPACES:
        protocol = runs.get(f"params.{namespace}.reporting.headline.protocol")
        level = runs.get(f"params.{namespace}.reporting.headline.level")
        for score in ("uf1", "uar"):
            values = []
            for i in range(len(runs)):
                p = protocol.iloc[i] if protocol is not None else None
                lv = level.iloc[i] if level is not None else None
                p = p if isinstance(p, str) else DEFAULT_HEADLINE[0]
                lv = lv if isinstance(lv, str) else DEFAULT_HEADLINE[1]
                column = f"metrics.{namespace}.{p}.{lv}.{model}.{score}"
                values.append(runs[column].iloc[i] if column in runs else float("nan"))
            if pd.Series(values).notna().any():
                table[f"{namespace} {score.upper()}"] = values
    table.index.name = "run id"
    return table


def differing_parameters(runs: pd.DataFrame) -> pd.DataFrame:
    """The ``params.*`` columns whose values are not the same in every run."""
    params = runs.filter(like="params.").astype("string").fillna("-")
    differing = [c for c in params.columns if params[c].nunique() > 1]
    table = params[differing].T
    table.columns = runs["run_id"].str[:8]
    table.index = [name.removeprefix("params.") for name in table.index]
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", help="default: the project's mlflow.yml")
    parser.add_argument("--experiment", default="me_emotion")
    parser.add_argument("--model", default="hybrid_micronet")
    parser.add_argument("--last", type=int, default=20, help="newest runs shown")
    args = parser.parse_args(argv)

    import mlflow  # noqa: PLC0415 - the tracking extra

    mlflow.set_tracking_uri(args.tracking_uri or configured_tracking_uri(Path.cwd()))
    runs = mlflow.search_runs(
        experiment_names=[args.experiment],
        order_by=["attributes.start_time DESC"],
        max_results=args.last,
    )
    if runs.empty:
        where = mlflow.get_tracking_uri()
        print(f"No runs in experiment '{args.experiment}' at {where}")  # noqa: T201
        return 1
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(headline_table(runs, args.model).round(3).to_string())  # noqa: T201
        differing = differing_parameters(runs)
        if len(runs) > 1 and not differing.empty:
            print("\nParameters that differ between these runs:")  # noqa: T201
            print(differing.head(SHOWN_PARAMETERS).to_string())  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
