"""notebooks/explore_catalog.ipynb: committed without outputs, and runs on the tiny set."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import PROJECT_ROOT, run_pipeline

NOTEBOOK = PROJECT_ROOT / "notebooks" / "explore_catalog.ipynb"
# The casme2 pipeline shrunk to seconds: random 32-px VGG-16 inputs, one epoch
# of small networks. Numbers are meaningless; every dataset the notebook loads
# is written.
SHRINK = {
    "vgg16_weights": None,  # the catalog's casme2.vgg16_weights: random weights
    "casme2": {
        "feature_extraction": {
            "image": {"size": 32, "border_px": 1},
            "execution": "graph",
            "flow": {"method": "farneback"},
        },
        "training": {
            "image": {"size": 32},
            "models": {
                "hybrid_micronet": {
                    "epochs": 1,
                    "filters": [4, 8, 8],
                    "embedding_units": 8,
                },
                "hybrid_micronet_paper": {
                    "epochs": 1,
                    "filters": [4, 8, 8],
                    "embedding_units": 8,
                    "fusion_units": 8,
                },
                "cnn": {"epochs": 1, "filters": [4, 8, 8]},
                "ann": {"epochs": 1, "hidden_units": [8]},
                "flow_cnn": {"epochs": 1},
                "au_enhanced": {"n_clusters": 2},
            },
        },
    },
}


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    dirty = [
        i
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"cells {dirty} of {NOTEBOOK.name} hold outputs: clear them before committing "
        "(jupyter nbconvert --clear-output --inplace notebooks/explore_catalog.ipynb)"
    )


def _outputs(notebook: nbformat.NotebookNode, kind: str) -> list:
    return [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if kind in output.get("data", {}) or output.get("name") == kind
    ]


@pytest.mark.integration
def test_notebook_runs_on_the_tiny_set(tiny_project: Path):
    """Runs the casme2 pipeline on the tiny set, then every cell, from notebooks/ as a user would."""
    run_pipeline(tiny_project, "casme2", SHRINK)
    folder = tiny_project / "notebooks"
    folder.mkdir()
    shutil.copy(NOTEBOOK, folder / NOTEBOOK.name)
    notebook = nbformat.read(folder / NOTEBOOK.name, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on failure
    printed = "".join(o.get("text", "") for o in _outputs(notebook, "stdout"))
    assert "data source: synthetic" in printed
    assert "weights: random" in printed  # the embeddings say which weights made them
    assert len(_outputs(notebook, "image/png")) == 2  # frames + crops, flow field
    assert (
        len(_outputs(notebook, "application/vnd.plotly.v1+json")) == 2
    )  # PCA, confusion
    assert (
        str(tiny_project / "data" / "08_reporting" / "casme2" / "report.html")
        in printed
    )
