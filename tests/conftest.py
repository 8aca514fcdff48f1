"""Shared fixtures: a throw-away copy of the project configured for the tiny set.

``kedro_project`` copies ``pyproject.toml`` and ``conf/`` into a temporary
folder, points every data root there (conf/local/globals.yml), and changes the
working directory to it, so relative catalog paths (``data/...``) never touch
the real project's data. ``tiny_synthetic`` generates the tiny synthetic
releases once per test session and hands out a copy of that project.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

os.environ["KEDRO_DISABLE_TELEMETRY"] = "1"  # never write pyproject.toml (telemetry)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Where the tracking extra is installed, only tests/test_tracking.py turns it on.
os.environ["ME_EMOTION_TRACKING"] = "off"

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TINY = {"synthetic": {"size": "tiny"}, "synthetic_videos": {"size": "tiny"}}


def make_project_copy(target: Path) -> Path:
    """A runnable copy of the project's configuration at ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", target / "pyproject.toml")
    shutil.copytree(PROJECT_ROOT / "conf", target / "conf", dirs_exist_ok=True)
    (target / "src").mkdir(
        exist_ok=True
    )  # bootstrap_project wants it; the package is installed
    local = target / "conf" / "local"
    for path in local.iterdir():
        if path.name != ".gitkeep":
            path.unlink()
    return target


def run_pipeline(
    project: Path, pipeline: str, extra_params: dict | None = None, **run_args
) -> dict:
    """Run a registered pipeline of ``project`` through a real KedroSession."""
    bootstrap_project(project)
    with KedroSession.create(
        project_path=project,
        conf_source=str(project / "conf"),
        runtime_params={**TINY, **(extra_params or {})},
    ) as session:
        return session.run(pipeline_names=[pipeline], **run_args)


def conf_parameters(name: str, *path: str) -> Any:
    """The value at ``path`` in ``conf/base/parameters_<name>.yml``, as the file holds it.

    ``conf_parameters("preprocessing", "casme2", "preprocessing")`` is the
    casme2 preprocessing block (YAML anchors merged, no runtime overrides).
    """
    value = yaml.safe_load(
        (PROJECT_ROOT / "conf" / "base" / f"parameters_{name}.yml").read_text()
    )
    for key in path:
        value = value[key]
    return value


def generate_synthetic(project: Path) -> Path:
    """Run the ``synthetic`` pipeline in the project copy ``project``; its data folder."""
    cwd = Path.cwd()
    os.chdir(project)  # the catalog's paths are relative
    try:
        run_pipeline(project, "synthetic")
    finally:
        os.chdir(cwd)
    return project / "data" / "01_raw" / "synthetic"


@pytest.fixture(scope="session")
def tiny_release_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny synthetic releases, generated once per test session."""
    return generate_synthetic(
        make_project_copy(tmp_path_factory.mktemp("tiny_release"))
    )


@pytest.fixture
def kedro_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty project copy; the working directory is its root."""
    project = make_project_copy(tmp_path / "project")
    monkeypatch.chdir(project)
    yield project


@pytest.fixture
def tiny_project(kedro_project: Path, tiny_release_dir: Path) -> Path:
    """A project copy whose data roots hold the tiny synthetic releases."""
    target = kedro_project / "data" / "01_raw" / "synthetic"
    shutil.copytree(tiny_release_dir, target)
    return kedro_project
