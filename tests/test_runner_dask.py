"""DaskRunner: the same outputs as the sequential run on the tiny synthetic set,
a node's own error as the run's error, a clear message without a scheduler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import LocalCluster
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline, node

from me_emotion.runner import DaskRunner, SchedulerUnavailableError

from .conftest import TRAINED, run_pipeline

# The shared trained project's casme2 settings with one split, the quickest:
# its rows of the shared run's metrics are what the Dask run must reproduce.
PROTOCOL = "paper_random_split"
TINY_RUN = {
    "vgg16_weights": None,  # the catalog's casme2.vgg16_weights: random weights
    "casme2": {
        **TRAINED["casme2"],
        "training": {**TRAINED["casme2"]["training"], "protocols": [PROTOCOL]},
    },
}


def _outputs(project: Path) -> dict:
    """What the agreement is checked on: clip index, crops, embeddings, metrics."""
    data = project / "data"
    clip_index = pd.read_parquet(data / "02_intermediate/casme2/clip_index.parquet")
    clip_index["frame_dir"] = [  # absolute: the two runs live in different folders
        str(Path(folder).relative_to(project)) for folder in clip_index["frame_dir"]
    ]
    crops_folder = data / "03_primary/casme2/face_crops"
    crops = {}
    for path in sorted(crops_folder.rglob("*.npz")):
        with np.load(path) as arrays:
            crops[str(path.relative_to(crops_folder))] = {
                name: arrays[name] for name in arrays.files
            }
    return {
        "clip_index": clip_index,
        "crops": crops,
        "embeddings": pd.read_parquet(
            data / "04_feature/casme2/vgg_embeddings.parquet"
        ),
        "metrics": pd.read_csv(data / "08_reporting/casme2/metrics.csv"),
    }


def _ordered(metrics: pd.DataFrame) -> pd.DataFrame:
    """Row order differs between a run of every protocol and one of a single one."""
    return metrics.sort_values(["model", "protocol", "level"]).reset_index(drop=True)


def test_dask_run_on_two_worker_processes_agrees_with_the_sequential_run(
    tiny_project, trained_run
):
    expected = _outputs(trained_run.path)  # the shared sequential run
    metrics = expected["metrics"]
    expected["metrics"] = _ordered(metrics[metrics["protocol"] == PROTOCOL])

    # its own LocalCluster, worker processes: nodes, clips and data are pickled
    run_pipeline(
        tiny_project,
        "casme2",
        TINY_RUN,
        runner=DaskRunner(n_workers="2", processes="true"),
    )
    got = _outputs(tiny_project)

    pd.testing.assert_frame_equal(got["clip_index"], expected["clip_index"])
    assert got["crops"].keys() == expected["crops"].keys() and got["crops"]
    for clip, arrays in expected["crops"].items():
        assert got["crops"][clip].keys() == arrays.keys()
        for name, array in arrays.items():
            np.testing.assert_array_equal(got["crops"][clip][name], array, err_msg=clip)
    pd.testing.assert_frame_equal(
        got["embeddings"], expected["embeddings"], check_exact=False, rtol=1e-5
    )
    assert len(expected["metrics"]) > 0
    pd.testing.assert_frame_equal(
        _ordered(got["metrics"]), expected["metrics"], check_exact=False, rtol=1e-6
    )


class ClipUnreadableError(Exception):
    """A node's own error type."""


def _read_clip(frames: list[int]) -> list[int]:
    raise ClipUnreadableError(f"sub01/EP02: frame {frames[1]} is truncated")


def _double(frames: list[int]) -> list[int]:
    return [2 * frame for frame in frames]


def test_a_failing_node_fails_the_run_with_its_own_error():
    pipeline = Pipeline(
        [
            node(_double, "frames", "doubled", name="double"),
            node(_read_clip, "doubled", "clip", name="read_clip"),
            node(_double, "clip", "never", name="after"),
        ]
    )
    catalog = DataCatalog({"frames": MemoryDataset([1, 2, 3])})
    runner = DaskRunner(n_workers=2, processes=False)
    with pytest.raises(ClipUnreadableError, match="frame 4 is truncated"):
        runner.run(pipeline, catalog)


def test_in_memory_data_crosses_the_cluster_and_the_outputs_come_back():
    pipeline = Pipeline(
        [
            node(_double, "frames", "doubled", name="double"),
            node(_double, "doubled", "quadrupled", name="again"),
        ]
    )
    catalog = DataCatalog({"frames": MemoryDataset([1, 2, 3])})
    DaskRunner(n_workers=1, processes=False).run(pipeline, catalog)
    assert catalog.load("quadrupled") == [4, 8, 12]


def test_an_unreachable_scheduler_gives_a_clear_message(monkeypatch):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:9")
    runner = DaskRunner(timeout="1")
    pipeline = Pipeline([node(_double, "frames", "doubled", name="double")])
    with pytest.raises(SchedulerUnavailableError) as error:
        runner.run(pipeline, DataCatalog({"frames": MemoryDataset([1])}))
    message = str(error.value)
    assert "no Dask scheduler answers at tcp://127.0.0.1:9" in message
    assert "DASK_SCHEDULER_ADDRESS" in message and "dask scheduler" in message


def test_a_scheduler_without_workers_gives_a_clear_message():
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        runner = DaskRunner(address=cluster.scheduler_address, timeout=1)
        pipeline = Pipeline([node(_double, "frames", "doubled", name="double")])
        with pytest.raises(SchedulerUnavailableError, match="has no worker"):
            runner.run(pipeline, DataCatalog({"frames": MemoryDataset([1])}))
