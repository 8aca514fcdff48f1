"""notebooks/explore_catalog.ipynb: committed without outputs, and runs on the tiny set."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.conftest import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "explore_catalog.ipynb"


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


def test_notebook_runs_on_the_tiny_set(trained_project: Path):
    """Every cell, from notebooks/ as a user would, on the shared trained tiny project."""
    folder = trained_project / "notebooks"
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
        str(trained_project / "data" / "08_reporting" / "casme2" / "report.html")
        in printed
    )
