"""kedro-viz on the project: `kedro viz build` (with previews) in a real headless Chromium, `kedro viz run`'s API.

Neither needs the pipelines' data: kedro-viz reads the registry and the catalog.
Set ``ME_EMOTION_UPDATE_SCREENSHOTS=1`` to copy the screenshot into docs/images/.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from tests.conftest import PROJECT_ROOT, make_project_copy
from tests.pipelines.reporting import chromium

pytestmark = pytest.mark.integration  # `kedro viz` on a project copy

# A node of every stage, as kedro-viz shows them once the casme2 pipeline is expanded.
NODES = [
    "build_clip_index",
    "sample_frames",
    "detect_faces",
    "crop_faces",
    "embed_face_crops",
    "extract_flow_features",
    "train_hybrid_micronet",
    "compute_metrics",
    "plot_confusion_matrices",
    "render_report",
]
# kedro-viz lays the DAG out in layer bands, top to bottom, in data-flow order.
# models (fitted) and model_output (predictions) come from the same nodes, so
# their relative order is kedro-viz' choice.
LAYERS = ["raw", "intermediate", "primary", "feature", "model_input", "reporting"]
MODEL_LAYERS = {"models", "model_output"}


def _in_flow_order(layers: list[str]) -> bool:
    """Every layer present, ``LAYERS`` in order, the model layers before reporting."""
    if not set(LAYERS) | MODEL_LAYERS <= set(layers):
        return False
    positions = [layers.index(layer) for layer in LAYERS]
    report = layers.index("reporting")
    return positions == sorted(positions) and all(
        layers.index("model_input") < layers.index(m) < report for m in MODEL_LAYERS
    )


# Turns off kedro-viz' "new feature" pop-ups (its settings live in localStorage),
# then opens the casme2 pipeline with every modular pipeline expanded.
PREPARE = """<!DOCTYPE html><script>
localStorage.setItem("KedroViz", JSON.stringify({showFeatureHints: false}));
location.replace("/?pid=casme2&expandAllPipelines=true");
</script>"""


def _env() -> dict[str, str]:
    return {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def _kedro(
    project: Path, *args: str, timeout_s: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kedro", *args],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


# Datasets with a kedro-viz preview, and the preview type each should get.
PREVIEWS = {
    "casme2.metrics": "TablePreview",
    "casme2.confusion_matrices_plot": "PlotlyPreview",
    "casme2.face_contact_sheet": "ImagePreview",
}


def _write_reporting_outputs(project: Path) -> None:
    """Small stand-ins for the files a casme2 run writes, for the previews to show."""
    folder = project / "data/08_reporting/casme2"
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "protocol": ["loso", "loso"],
            "model": ["hybrid_micronet", "svm"],
            "level": ["clip", "clip"],
            "uf1": [0.41, 0.37],
            "uar": [0.43, 0.39],
        }
    ).to_csv(folder / "metrics.csv", index=False)
    figure = go.Figure(go.Heatmap(z=[[3, 1], [0, 4]], x=["a", "b"], y=["a", "b"]))
    figure.update_layout(title="confusion matrix (preview test)")
    (folder / "confusion_matrices.json").write_text(figure.to_json())
    sheet = np.tile(np.arange(64, dtype=np.uint8), (32, 1))
    cv2.imwrite(str(folder / "face_contact_sheet.png"), sheet)


@pytest.fixture(scope="module")
def viz_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`kedro viz build --include-previews` of a project copy; returns its build/ folder.

    The copy holds only three reporting files (see ``PREVIEWS``); every other
    dataset is missing, which kedro-viz reports and builds without a preview.
    """
    project = make_project_copy(tmp_path_factory.mktemp("viz_project"))
    _write_reporting_outputs(project)
    done = _kedro(project, "viz", "build", "--include-previews")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    build = project / "build"
    assert (build / "index.html").exists()
    (build / "prepare.html").write_text(PREPARE)
    return build


def _text(dom: str) -> str:
    """Visible text of a dumped DOM, one space between words."""
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", dom).split())


def test_static_site_shows_every_stage_in_chromium(viz_build: Path, tmp_path: Path):
    chromium.require_chromium()
    with chromium.serve(viz_build) as url:
        dom = chromium.dump_dom(f"{url}/?pid=casme2&expandAllPipelines=true")
        shot = chromium.screenshot(
            f"{url}/prepare.html", tmp_path / "kedro_viz.png", size=(1600, 1000)
        )
    text = _text(dom)
    missing = [name for name in NODES if name not in text.split()]
    assert not missing, f"kedro-viz page lacks nodes {missing}"
    # the layer bands as drawn, top to bottom
    labels = re.findall(
        r'data-id="layer-label--(\w+)"[^>]*translateY\((-?[\d.]+)px\)', dom
    )
    bands = [name for name, _ in sorted(labels, key=lambda label: float(label[1]))]
    assert _in_flow_order(bands), bands
    assert shot.stat().st_size > 50_000
    chromium.keep_copy(shot, PROJECT_ROOT / "docs/images/kedro_viz_casme2.png")


def test_build_lists_the_pipelines_and_their_layers(viz_build: Path):
    main = json.loads((viz_build / "api" / "main").read_text())
    assert {p["id"] for p in main["pipelines"]} >= {
        "casme2",
        "samm",
        "composite",
        "synthetic",
    }
    assert _in_flow_order(main["layers"]), main["layers"]
    datasets = [n for n in main["nodes"] if n["type"] == "data"]
    unlayered = sorted(n["name"] for n in datasets if not n.get("layer"))
    assert not unlayered, f"datasets without a kedro-viz layer: {unlayered}"


def _node_details(build: Path, name: str) -> dict:
    main = json.loads((build / "api" / "main").read_text())
    (node,) = [n for n in main["nodes"] if n["name"] == name]
    return json.loads((build / "api" / "nodes" / node["id"]).read_text())


@pytest.mark.parametrize("name", sorted(PREVIEWS))
def test_static_build_holds_the_previews(viz_build: Path, name: str):
    details = _node_details(viz_build, name)
    assert details.get("preview_type") == PREVIEWS[name], details
    preview = details["preview"]
    if PREVIEWS[name] == "TablePreview":
        assert preview["columns"][:3] == ["protocol", "model", "level"]
        assert len(preview["data"]) == 2
    elif PREVIEWS[name] == "PlotlyPreview":
        assert preview["data"][0]["type"] == "heatmap"
    else:
        assert preview.startswith("iVBOR")  # base64 of the PNG signature


# What kedro-viz' side panel draws for each preview type, as found in the DOM.
PREVIEW_MARKUP = {
    "TablePreview": r'class="preview-table[^"]*".*?hybrid_micronet',
    "PlotlyPreview": r'class="pipeline-plotly-chart pipeline-plotly__preview".*?class="main-svg"',
    "ImagePreview": r'class="pipeline-metadata__plot-image"[^>]*src="data:image/png;base64,iVBOR',
}


@pytest.mark.parametrize("name", sorted(PREVIEWS))
def test_static_site_shows_the_preview_in_chromium(viz_build: Path, name: str):
    """Selecting the dataset (``sid``) opens the side panel with its preview drawn."""
    chromium.require_chromium()
    main = json.loads((viz_build / "api" / "main").read_text())
    (node,) = [n for n in main["nodes"] if n["name"] == name]
    with chromium.serve(viz_build) as url:
        dom = chromium.dump_dom(
            f"{url}/?pid=casme2&sid={node['id']}&sn={name}&expandAllPipelines=true"
        )
    assert 'class="pipeline-metadata pipeline-metadata--visible' in dom
    assert re.search(PREVIEW_MARKUP[PREVIEWS[name]], dom, flags=re.S), name


def test_viz_run_serves_the_project(tmp_path: Path):
    """`kedro viz run` starts on the project and its API lists the casme2 nodes."""
    project = make_project_copy(tmp_path / "project")
    port = chromium.free_port()
    log = tmp_path / "viz_run.log"
    command = [sys.executable, "-m", "kedro", "viz", "run", "--no-browser"]
    with log.open("w") as output:
        server = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=project,
            env=_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the server is a child of it
        )
    try:
        body = _wait_for_api(f"http://127.0.0.1:{port}/api/main", server, timeout_s=120)
        assert body is not None, (
            f"kedro viz run did not answer within 120 s (exit code {server.poll()}):\n"
            + log.read_text()[-3000:]
        )
        names = {n["name"] for n in body["nodes"]}
        assert {"build_clip_index", "render_report"} <= names
    finally:
        # kedro viz run serves from a multiprocessing child: stop the whole group
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def _wait_for_api(url: str, server: subprocess.Popen, timeout_s: float) -> dict | None:
    """The JSON at ``url`` once the server answers; None if it exits or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return json.loads(response.read())
        except OSError:  # not listening yet
            time.sleep(0.5)
    return None
