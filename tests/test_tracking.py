"""Experiment tracking (the `tracking` extra): what each MLflow run records.

The helpers are tested on small tables; the end-to-end test runs a slice of the
casme2 pipeline twice through a real KedroSession (one model's training, the
metrics and the reporting stage) into the project copy's own ``mlruns/`` store
and reads both runs back. It needs kedro-mlflow, which the `test` extra installs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline

from me_emotion import tracking
from me_emotion.datasets import ArraysDataset
from me_emotion.pipelines.reporting.nodes import summarise_data_source
from tests.conftest import PROJECT_ROOT, conf_parameters, run_pipeline
from tests.pipelines.training.conftest import CLASSES, make_inputs

SCRIPTS = PROJECT_ROOT / "scripts"


# ---- helpers, no MLflow needed ------------------------------------------------


def test_flatten_keeps_lists_whole_and_prefixes_every_key():
    tree = {"models": {"svm": {"c": 1.0}}, "protocols": ["loso"], "empty": {}}
    assert tracking.flatten(tree, "casme2.training") == {
        "casme2.training.models.svm.c": 1.0,
        "casme2.training.protocols": ["loso"],
        "casme2.training.empty": "{}",
    }


def test_metric_keys_name_namespace_protocol_level_model_and_score():
    metrics = pd.DataFrame(
        {
            "data_source": ["synthetic", "synthetic"],
            "protocol": ["loso", "paper_random_split"],
            "model": ["hybrid_micronet", "svm"],
            "level": ["clip", "frame"],
            "n_samples": [20, 80],
            "uf1": [0.5, np.nan],
            "uar": [0.25, 0.75],
        }
    )
    assert tracking.metric_values("casme2", metrics) == {
        "casme2.loso.clip.hybrid_micronet.uf1": 0.5,
        "casme2.loso.clip.hybrid_micronet.uar": 0.25,
        "casme2.paper_random_split.frame.svm.uar": 0.75,
    }


def test_a_table_without_its_keys_is_refused_by_name():
    with pytest.raises(ValueError, match=r"'samm' lacks the columns \['level'\]"):
        tracking.metric_values(
            "samm", pd.DataFrame({"protocol": ["loso"], "model": ["svm"], "uf1": [1]})
        )


def test_run_parameters_are_the_blocks_the_nodes_read_not_the_whole_tree():
    pipeline = Pipeline(
        [Node(lambda p, a: a, ["params:training", "parameters"], "out", name="n")],
        namespace="casme2",
    )
    catalog = DataCatalog(
        {
            "params:casme2.training": MemoryDataset({"epochs": 3, "seeds": [1, 2]}),
            "parameters": MemoryDataset({"samm": {"x": 1}}),
        }
    )
    assert tracking.run_parameters(pipeline, catalog) == {
        "casme2.training.epochs": "3",
        "casme2.training.seeds": "[1, 2]",
    }


def test_layer_files_are_the_written_reporting_and_models_files(
    kedro_project: Path,
):
    catalog = DataCatalog.from_config(
        {
            **yaml.safe_load(
                (kedro_project / "conf/base/catalog_training.yml").read_text()
            ),
        }
    )
    written = {
        "casme2.metrics": "data/08_reporting/casme2/metrics.csv",
        "casme2.sklearn_model_svm": "data/06_models/casme2/svm.estimator.npz",
        "casme2.folds": "data/05_model_input/casme2/folds.parquet",  # model_input
    }
    for path in written.values():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text("x")
    names = [*written, "casme2.predictions", "casme2.sklearn_model_ann"]
    assert tracking.layer_files(names, catalog) == [
        (Path(written["casme2.metrics"]), "casme2/reporting"),
        (Path(written["casme2.sklearn_model_svm"]), "casme2/models"),
    ]


def test_the_switch_turns_tracking_off_before_anything_imports_mlflow(monkeypatch):
    monkeypatch.setenv(tracking.TRACKING_SWITCH, "off")
    hooks = tracking.TrackingHooks()
    hooks.after_context_created(context=None)  # would fail on None if it went on
    assert not tracking.tracking_enabled()


def test_without_the_extra_settings_register_no_hook_and_mlflow_is_never_imported():
    """A fresh interpreter where kedro_mlflow and mlflow cannot be imported."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["kedro_mlflow"] = None  # import fails, find_spec says absent
        sys.modules["mlflow"] = None
        import me_emotion.settings as settings
        from me_emotion.hooks import ProjectHooks
        assert [type(h) for h in settings.HOOKS] == [ProjectHooks], settings.HOOKS
        assert sys.modules["mlflow"] is None
        print("no hooks")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "no hooks"


# ---- two tracked runs of a casme2 slice ----------------------------------------

SLICE = [
    "casme2.make_folds",
    "casme2.train_decision_tree",
    "casme2.compute_metrics",
    "casme2.tabulate_subject_metrics",
    "casme2.bootstrap_over_subjects",
    "casme2.build_evaluation_tables",
    "casme2.build_result_tables",
    "casme2.render_tables_markdown",
    "casme2.plot_confusion_matrices",
    "casme2.plot_uf1_uar",
    "casme2.plot_per_class_recall",
    "casme2.gather_run_parameters",
    "casme2.render_report",
]


def _predictions() -> pd.DataFrame:
    """Pooled predictions of two models in the training stage's format."""
    rng = np.random.default_rng(0)
    rows = []
    for model in ("hybrid_micronet", "svm"):
        for protocol in ("paper_random_split", "loso"):
            for level in ("frame", "clip"):
                for i in range(24):
                    truth = CLASSES[i % 3]
                    guess = truth if rng.random() < 0.6 else CLASSES[(i + 1) % 3]
                    rows.append(
                        {
                            "data_source": "synthetic",
                            "embedding_weights": "random (untrained)",
                            "settings": "demo settings",
                            "image_size": "-",
                            "epochs": "-",
                            "n_seeds": 1,
                            "seed": 2026,
                            "dataset": "casme2",
                            "protocol": protocol,
                            "model": model,
                            "level": level,
                            "fold": f"s{i % 4}",
                            "subject": f"s{i % 4}",
                            "clip": f"s{i % 4}_c{i}",
                            "y_true": truth,
                            "y_pred": guess,
                            **{f"prob_{c}": float(c == guess) for c in CLASSES},
                        }
                    )
    return pd.DataFrame(rows)


def _write_slice_inputs(project: Path) -> None:
    """What the stages before the slice would have written."""
    inputs = make_inputs()
    ArraysDataset(str(project / "data/05_model_input/casme2/model_inputs.npz")).save(
        inputs.to_arrays()
    )
    output = project / "data/07_model_output/casme2"
    output.mkdir(parents=True)
    _predictions().to_parquet(output / "predictions.parquet")
    clips = pd.DataFrame(
        {
            "dataset": "casme2",
            "source": "synthetic",
            "subject": inputs.clip_subject,
            "clip": inputs.clip_name,
            "label": inputs.clip_label,
        }
    )
    embeddings = pd.DataFrame(
        {
            "clip": clips["clip"],
            "aug_id": 0,
            "weights": "random",
            "precision": "float32",
        }
    )
    summary = summarise_data_source(
        clips,
        pd.DataFrame(columns=["reason"]),
        pd.DataFrame(columns=["reason"]),
        embeddings,
        {"dataset": "casme2", "coding_file": "CASME2-coding-20140508.xlsx"},
    )
    reporting = project / "data/08_reporting/casme2"
    reporting.mkdir(parents=True)
    (reporting / "data_source.json").write_text(json.dumps(summary))


@pytest.fixture
def tracked_runs(kedro_project: Path, monkeypatch: pytest.MonkeyPatch) -> list:
    """Two runs of the slice with different ``casme2.reporting.decimals``, oldest first."""
    pytest.importorskip("kedro_mlflow", reason="needs the tracking extra")
    from mlflow.tracking import MlflowClient  # noqa: PLC0415

    monkeypatch.setenv(tracking.TRACKING_SWITCH, "on")
    _write_slice_inputs(kedro_project)
    for decimals in (2, 3):
        params = {
            "casme2": {
                "training": {"classes": list(CLASSES)},
                "reporting": {"decimals": decimals},
            }
        }
        run_pipeline(kedro_project, "casme2", extra_params=params, node_names=SLICE)
    client = MlflowClient(
        tracking_uri=f"sqlite:///{kedro_project / 'mlruns' / 'mlflow.db'}"
    )
    experiment = client.get_experiment_by_name("me_emotion")
    runs = client.search_runs(
        [experiment.experiment_id], order_by=["attributes.start_time ASC"]
    )
    return [client, runs]


def _artifacts(client, run_id: str, folder: str = "") -> set[str]:
    found = set()
    for item in client.list_artifacts(run_id, folder or None):
        if item.is_dir:
            found |= _artifacts(client, run_id, item.path)
        else:
            found.add(item.path)
    return found


@pytest.mark.integration
def test_two_runs_record_parameters_data_source_metrics_and_artifacts(
    tracked_runs, kedro_project: Path, capsys
):
    client, runs = tracked_runs
    assert [run.info.status for run in runs] == ["FINISHED", "FINISHED"]
    first, second = (run.data for run in runs)
    assert first.tags["mlflow.runName"] == "casme2"
    assert first.tags["data_source"] == "synthetic"
    # parameters of the stages that ran, flattened under their namespace
    assert first.params["casme2.reporting.decimals"] == "2"
    assert second.params["casme2.reporting.decimals"] == "3"
    headline = conf_parameters("reporting", "casme2", "reporting")["headline"]
    assert first.params["casme2.reporting.headline.protocol"] == headline["protocol"]
    assert "casme2.training.models.decision_tree.max_depth" in first.params
    assert not [k for k in first.params if k.startswith(("parameters", "samm."))]
    # the report prints every block of its namespace, so the run reads them all
    assert "casme2.face_detection.detector" in first.params
    # the data source
    assert first.params["casme2.data_source.source"] == "synthetic"
    assert first.params["casme2.data_source.coding_file"] == (
        "CASME2-coding-20140508.xlsx"
    )
    # the metrics table, one metric per row x score
    table = pd.read_csv(kedro_project / "data/08_reporting/casme2/metrics.csv")
    row = table.query("protocol == 'loso' and level == 'clip'").set_index("model")
    assert first.metrics["casme2.loso.clip.hybrid_micronet.uf1"] == pytest.approx(
        row.loc["hybrid_micronet", "uf1"], abs=1e-4
    )
    assert "casme2.paper_random_split.frame.svm.uar" in first.metrics
    assert not [k for k in first.metrics if k.endswith("n_samples")]
    # report, tables, figures and the trained model
    assert {
        "casme2/reporting/report.html",
        "casme2/reporting/metrics.csv",
        "casme2/reporting/table3_baselines.csv",
        "casme2/reporting/results_tables.md",
        "casme2/reporting/confusion_matrices.json",
        "casme2/models/decision_tree.estimator.npz",
    } <= _artifacts(client, runs[0].info.run_id)
    assert "casme2/reporting/data_source.json" not in _artifacts(
        client, runs[0].info.run_id
    )  # an input of this slice, not written by it

    # scripts/list_runs.py lists both runs with their headline UF1 / UAR
    sys.path.insert(0, str(SCRIPTS))
    try:
        import list_runs  # noqa: PLC0415
    finally:
        sys.path.remove(str(SCRIPTS))
    assert list_runs.main([]) == 0
    printed = capsys.readouterr().out
    assert "casme2 UF1" in printed and "casme2 UAR" in printed
    assert all(run.info.run_id[:8] in printed for run in runs)
    assert "casme2.reporting.decimals" in printed  # the parameter that differs
