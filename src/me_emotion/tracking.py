"""Experiment tracking with kedro-mlflow (the optional ``tracking`` extra).

``pip install -e ".[tracking]"`` installs kedro-mlflow; ``settings.py`` then
registers :class:`TrackingHooks` and every ``kedro run`` becomes one MLflow run
(configured in ``conf/base/mlflow.yml``; local ``mlruns/`` store by default).
Without the extra :func:`tracking_hooks` returns nothing and nothing imports
mlflow. ``ME_EMOTION_TRACKING=off`` turns tracking off for one command.

Each run records, from the main process (kedro-mlflow's artifact datasets
misbehave under parallel runners, and the node hooks run in the workers there):

- parameters: every ``params:<namespace>.<stage>`` block the pipeline reads,
  flattened (``casme2.training.models.hybrid_micronet.epochs``);
- the data source of each namespace (``casme2.data_source.source``,
  ``...subjects``, ``...coding_file``, ...) and a ``data_source`` tag;
- the metrics table as metrics, ``<namespace>.<protocol>.<level>.<model>.<column>``
  (``casme2.loso.clip.hybrid_micronet.uf1``);
- every file of a ``reporting`` or ``models`` layer dataset the run writes
  (report, tables, figures, models) as artifacts under ``<namespace>/<layer>/``.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol
from kedro.pipeline import Pipeline

logger = logging.getLogger(__name__)

TRACKING_SWITCH = "ME_EMOTION_TRACKING"  # "off" (or 0/false/no): no tracking
LOGGED_LAYERS = ("reporting", "models")  # kedro-viz layers whose files are artifacts
METRIC_KEYS = ("protocol", "level", "model")  # the metrics table's row identity
PARAM_VALUE_LIMIT = 6000  # MLflow's longest parameter value
_OFF = {"0", "off", "false", "no"}
_UNSAFE = re.compile(r"[^\w./ :-]")  # characters MLflow refuses in keys


def tracking_installed() -> bool:
    """Whether the ``tracking`` extra (kedro-mlflow) is installed."""
    return importlib.util.find_spec("kedro_mlflow") is not None


def tracking_enabled() -> bool:
    """Whether tracking is on: installed, and not switched off by ``ME_EMOTION_TRACKING``."""
    switch = os.environ.get(TRACKING_SWITCH, "on").strip().lower()
    return tracking_installed() and switch not in _OFF


def tracking_hooks() -> tuple[TrackingHooks, ...]:
    """The hooks ``settings.HOOKS`` registers: none unless the extra is installed."""
    return (TrackingHooks(),) if tracking_installed() else ()


def flatten(tree: Any, prefix: str) -> dict[str, Any]:
    """Nested dicts -> ``{"prefix.a.b": value}``; lists and scalars are leaves."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    if not tree:
        return {prefix: "{}"}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(flatten(value, f"{prefix}.{key}"))
    return flat


def _key(name: str) -> str:
    return _UNSAFE.sub("_", name)


def as_params(tree: Any, prefix: str) -> dict[str, str]:
    """:func:`flatten`, with keys and values as MLflow accepts them (text, truncated)."""
    params = {}
    for key, value in flatten(tree, prefix).items():
        text = str(value)
        if len(text) > PARAM_VALUE_LIMIT:
            text = text[: PARAM_VALUE_LIMIT - 3] + "..."
        params[_key(key)] = text
    return params


def _split(name: str) -> tuple[str, str]:
    """``"casme2.metrics"`` -> ``("casme2", "metrics")``; no namespace -> ``("", name)``."""
    namespace, _, short = name.rpartition(".")
    return namespace, short


def run_parameters(pipeline: Pipeline, catalog: CatalogProtocol) -> dict[str, str]:
    """The parameter blocks the pipeline's nodes read, flattened with their namespace.

    ``parameters`` (the whole tree, read by the report) is left out: it would
    log every namespace's parameters, also those of stages that did not run.
    """
    params: dict[str, str] = {}
    for name in sorted(pipeline.inputs()):
        if name.startswith("params:"):
            params.update(as_params(catalog.load(name), name.removeprefix("params:")))
    return params


def metric_values(namespace: str, metrics: pd.DataFrame) -> dict[str, float]:
    """One MLflow metric per row x numeric column of a metrics table.

    Keys read ``<namespace>.<protocol>.<level>.<model>.<column>``, e.g.
    ``casme2.loso.clip.hybrid_micronet.uf1``; counts (``n_*``) and empty
    cells are left out.

    Raises:
        ValueError: the table lacks a ``protocol``, ``level`` or ``model`` column.
    """
    missing = [c for c in METRIC_KEYS if c not in metrics.columns]
    if missing:
        raise ValueError(
            f"metrics table of '{namespace}' lacks the columns {missing}: it is "
            "not the training stage's metrics.csv"
        )
    columns = [
        c
        for c in metrics.select_dtypes("number").columns
        if not str(c).startswith("n_")
    ]
    values: dict[str, float] = {}
    for row in metrics.to_dict("records"):
        stem = ".".join([namespace, *(str(row[c]) for c in METRIC_KEYS)])
        for column in columns:
            value = float(row[column])
            if math.isfinite(value):
                values[_key(f"{stem}.{column}")] = value
    return values


def layer_files(
    names: Iterable[str], catalog: CatalogProtocol
) -> list[tuple[Path, str]]:
    """``(local file or folder, artifact folder)`` of each dataset in a logged layer.

    The artifact folder is ``<namespace>/<layer>``; datasets without a local
    file (memory, remote storage) or not written yet are skipped.
    """
    files = []
    for name in sorted(names):
        config = catalog.config_resolver.resolve_pattern(name)
        layer = (config.get("metadata") or {}).get("kedro-viz", {}).get("layer")
        location = config.get("filepath") or config.get("path")
        if layer in LOGGED_LAYERS and location and Path(location).exists():
            namespace, _ = _split(name)
            folder = f"{namespace}/{layer}" if namespace else layer
            files.append((Path(location), folder))
    return files


def log_parameters(pipeline: Pipeline, catalog: CatalogProtocol) -> None:
    """Log :func:`run_parameters` to the active MLflow run."""
    import mlflow  # noqa: PLC0415 - the optional extra, imported only when tracking

    mlflow.log_params(run_parameters(pipeline, catalog))


def log_results(pipeline: Pipeline, catalog: CatalogProtocol) -> None:
    """Log data sources, metrics and the reporting/models files to the active run."""
    import mlflow  # noqa: PLC0415 - the optional extra

    sources = set()
    for name in sorted(pipeline.datasets()):
        namespace, short = _split(name)
        if not namespace or short not in ("data_source", "metrics"):
            continue
        if not catalog.exists(name):  # e.g. a slice that stops before reporting
            continue
        if short == "data_source":
            summary = catalog.load(name)
            sources.add(str(summary.get("source", "unknown")))
            mlflow.log_params(as_params(summary, f"{namespace}.data_source"))
        else:
            mlflow.log_metrics(metric_values(namespace, catalog.load(name)))
    if sources:
        mlflow.set_tag("data_source", "+".join(sorted(sources)))
    for path, folder in layer_files(pipeline.all_outputs(), catalog):
        if path.is_dir():
            mlflow.log_artifacts(str(path), artifact_path=f"{folder}/{path.name}")
        else:
            mlflow.log_artifact(str(path), artifact_path=folder)


class TrackingHooks:
    """kedro-mlflow's run handling, plus the project's parameters and results.

    Wraps kedro-mlflow's ``MlflowHook`` (its own registration is disabled in
    ``settings.py``): it reads ``conf/*/mlflow.yml``, opens the run before the
    pipeline and closes it after. Parameters are logged once before the run
    and results once after it, both in the main process, instead of from each
    node. kedro-mlflow's metric datasets (whose names its catalog hook fills
    in) are not used: the metrics come from the metrics table.
    """

    def __init__(self) -> None:
        self._mlflow_hook: Any = None

    @hook_impl
    def after_context_created(self, context) -> None:
        self._mlflow_hook = None
        if not tracking_enabled():
            logger.info("Experiment tracking is off (%s)", TRACKING_SWITCH)
            return
        from kedro_mlflow.framework.hooks.mlflow_hook import (  # noqa: PLC0415
            MlflowHook,  # the optional extra
        )

        self._mlflow_hook = MlflowHook()
        self._mlflow_hook.after_context_created(context)

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        if self._mlflow_hook is None:
            return
        self._mlflow_hook.before_pipeline_run(run_params, pipeline, catalog)
        if self._tracking_this_run():
            log_parameters(pipeline, catalog)

    @hook_impl
    def after_pipeline_run(self, run_params, pipeline, catalog) -> None:
        if self._mlflow_hook is None:
            return
        try:
            if self._tracking_this_run():
                log_results(pipeline, catalog)
        finally:  # close the run even if logging failed
            self._mlflow_hook.after_pipeline_run(run_params, pipeline, catalog)

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
        if self._mlflow_hook is not None:
            self._mlflow_hook.on_pipeline_error(error, run_params, pipeline, catalog)

    @staticmethod
    def _tracking_this_run() -> bool:
        """False where mlflow.yml's ``disable_tracking.pipelines`` lists the pipeline."""
        import mlflow  # noqa: PLC0415 - the optional extra

        return mlflow.active_run() is not None
