"""Shared fixtures: a throw-away copy of the project configured for the tiny set.

``kedro_project`` copies ``pyproject.toml`` and ``conf/`` into a temporary
folder, points every data root there (conf/local/globals.yml), and changes the
working directory to it, so relative catalog paths (``data/...``) never touch
the real project's data. ``tiny_release_dir`` generates the tiny synthetic
releases once per test session; ``tiny_project`` is a project copy holding them.
``trained_run`` runs casme2, samm and composite on them once per session with
tiny models; ``trained_project`` hands out a copy of that trained project, so
the notebook, runner, Dask, face-stage and training tests train nothing of
their own. Tests that use these fixtures are marked ``integration`` (see
``pytest_collection_modifyitems``): ``bash scripts/test.sh --fast`` skips them.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
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

# Tiny models: seconds to train, numbers meaningless (the training tests'
# ``params`` fixture and the shared trained project use them).
TINY_MODELS = {
    "hybrid_micronet": {
        "branches": ["image_delta", "embedding_delta", "flow"],
        "filters": [4, 8],
        "embedding_units": 8,
        "appearance_dropout": 0.5,
        "fusion_weights": {"image_delta": 1.0, "embedding_delta": 1.0, "flow": 1.0},
        # chosen per fold on held-out training subjects: the shared project
        # runs that path (pinned in tests/pipelines/training/test_pipeline.py)
        "fusion_choice": {
            "on_validation": True,
            "validation_share": 0.2,
            "levels": [0, 1, 2],
        },
        "channels": ["u", "v"],
        "branch_filters": [2, 3],
        "flip_augment": True,
        "learning_rate": 0.01,
        "epochs": 2,
        "batch_size": 16,
    },
    "hybrid_micronet_paper": {
        "filters": [4, 8],
        "embedding_units": 8,
        "fusion_units": 8,
        "dropout": 0.1,
        "learning_rate": 0.05,
        "momentum": 0.5,
        "epochs": 1,
        "batch_size": 16,
    },
    "cnn": {
        "filters": [4, 8],
        "dropout": 0.1,
        "learning_rate": 0.05,
        "momentum": 0.5,
        "epochs": 1,
        "batch_size": 16,
    },
    "ann": {
        "hidden_units": [8],
        "dropout": 0.1,
        "learning_rate": 0.05,
        "momentum": 0.5,
        "epochs": 2,
        "batch_size": 16,
    },
    "flow_cnn": {
        "channels": ["u", "v"],
        "branch_filters": [2, 3],
        "learning_rate": 0.01,
        "epochs": 2,
        "batch_size": 16,
        "flip_augment": True,
    },
    "decision_tree": {"max_depth": 3, "min_samples_leaf": 1},
    "svm": {"C": 1.0, "kernel": "rbf", "gamma": "scale"},
    "au_enhanced": {"n_clusters": 2, "n_components": 2, "C": 1.0},
    "au_predicted": {
        "n_clusters": 2,
        "n_components": 2,
        "C": 1.0,
        "au_C": 1.0,
        "au_cv_folds": 3,
    },
}
TINY_FEATURES = {
    "image": {"size": 32, "border_px": 1},
    "flow": {"method": "farneback", "grid": 8},
}
TINY_TRAINING = {"image": {"size": 32, "border_px": 1}, "models": TINY_MODELS}
# The shared trained project's overrides: random 32-px VGG-16 inputs, the tiny
# models, both protocols per dataset and both composite ones.
TRAINED = {
    "vgg16_weights": None,  # overrides ${globals:vgg16_weights}: random weights
    **{
        namespace: {
            "feature_extraction": TINY_FEATURES,
            "training": {**TINY_TRAINING, "protocols": ["paper_random_split", "loso"]},
        }
        for namespace in ("casme2", "samm")
    },
    "composite": {
        "training": {**TINY_TRAINING, "protocols": ["composite", "cross_dataset"]}
    },
}


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
        runtime_params=copy.deepcopy({**TINY, **(extra_params or {})}),
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


@dataclass(frozen=True)
class TrainedRun:
    """The session's trained tiny project and what its cold run ran."""

    path: Path  # read only: tests that run or write take ``trained_project``
    cold: frozenset[str]  # the nodes the incremental runner ran (run stamps)


@pytest.fixture(scope="session")
def trained_run(
    tmp_path_factory: pytest.TempPathFactory, tiny_release_dir: Path
) -> TrainedRun:
    """casme2, samm and composite run once per session on the tiny set (``TRAINED``).

    The incremental runner runs them, so its stamps (``data/09_run_stamps``)
    show what a cold run ran; every test needing a trained project shares it.
    """
    from me_emotion.runner import IncrementalRunner  # noqa: PLC0415 - slow import

    project = make_project_copy(tmp_path_factory.mktemp("trained") / "project")
    shutil.copytree(tiny_release_dir, project / "data" / "01_raw" / "synthetic")
    stamps = project / "data" / "09_run_stamps"
    cwd = Path.cwd()
    os.chdir(project)  # the catalog's paths are relative
    try:
        for pipeline in ("__default__", "composite"):
            run_pipeline(
                project,
                pipeline,
                copy.deepcopy(TRAINED),
                runner=IncrementalRunner(stamps=str(stamps)),
            )
    finally:
        os.chdir(cwd)
    cold = frozenset(json.loads(p.read_text())["node"] for p in stamps.glob("*.json"))
    return TrainedRun(project, cold)


@pytest.fixture
def trained_project(
    trained_run: TrainedRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A copy of the trained project (files and times as they were); the working
    directory is its root. Its clip indexes still name the shared project's
    frames, and its releases are hard links: never change a file under 01_raw."""
    source = trained_run.path
    raw = source / "data" / "01_raw"

    def copy_file(src: str, dst: str) -> None:
        # the releases (half the size) are only read: hard links, same inode and time
        if Path(src).is_relative_to(raw):
            os.link(src, dst)
        else:
            shutil.copy2(src, dst)

    project = shutil.copytree(
        source, tmp_path / "trained", symlinks=True, copy_function=copy_file
    )
    monkeypatch.chdir(project)
    return project


# Their tests start a Kedro session or run a pipeline: ``integration``.
INTEGRATION_FIXTURES = {
    "kedro_project",
    "tiny_project",
    "tiny_release_dir",
    "trained_run",
    "trained_project",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
