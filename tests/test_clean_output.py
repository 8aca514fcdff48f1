"""`kedro run` and `me-emotion-video` write only the project's own lines to stderr.

Each runs as a user runs it: a fresh process, ``TF_CPP_MIN_LOG_LEVEL`` unset,
experiment tracking as installed. No line may come from TensorFlow's or
absl's start-up, a CUDA probe, oneDNN, or a known third-party warning (MLflow's,
tf.lite's): noise.py drops those where they arise.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import make_project_copy
from tests.pipelines.video_analysis.models import TINY_MODEL_PARAMS, write_tiny_models
from tests.pipelines.video_analysis.videos import expression_video_frames, write_video

pytestmark = pytest.mark.integration

# What a dependency's start-up line or a known third-party warning would contain.
NOISE = re.compile(
    r"tensorflow|absl|cuda|onednn|xnnpack|mlflow|UserWarning|\] ", re.IGNORECASE
)
TIMEOUT_S = 900  # a TensorFlow import takes a minute on a loaded 2-core machine


def _user_env() -> dict[str, str]:
    """The environment of a user's shell: no TF_CPP_MIN_LOG_LEVEL, tracking as installed."""
    drop = {"TF_CPP_MIN_LOG_LEVEL", "ME_EMOTION_TRACKING", "KEDRO_LOGGING_CONFIG"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["KEDRO_DISABLE_TELEMETRY"] = "1"  # never write pyproject.toml
    return env


def _noise(text: str) -> list[str]:
    return [line for line in text.splitlines() if NOISE.search(line)]


def test_kedro_run_stderr_carries_no_dependency_noise(tmp_path):
    project = make_project_copy(tmp_path / "project")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kedro",
            "run",
            "--pipelines=synthetic_releases",
            "--namespaces=synthetic_casme2",
            "--params",
            "synthetic.size=tiny",
        ],
        cwd=project,
        env=_user_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (project / "data" / "01_raw" / "synthetic").is_dir()
    assert _noise(done.stderr) == [], done.stderr[-3000:]
    # Kedro's own log (Rich, on stdout) carries no third-party warning either.
    assert "UserWarning" not in done.stdout, done.stdout[-3000:]


def _dotted(params: dict, prefix: str = "") -> list[str]:
    """``--params`` arguments for a nested dict."""
    pairs = []
    for key, value in params.items():
        if isinstance(value, dict):
            pairs += _dotted(value, f"{prefix}{key}.")
        else:
            pairs += ["--params", f"{prefix}{key}={json.dumps(value)}"]
    return pairs


def test_the_video_command_prints_only_its_own_lines(tmp_path):
    """Tracking (landmarks: TensorFlow Lite), recognition (Keras), report: no noise."""
    project = make_project_copy(tmp_path / "project")
    write_tiny_models(project)
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(
        videos / "smile.avi",
        expression_video_frames(30.0, 3.0, [(1.0, 1.3)]),
        30.0,
    )
    (videos / "broken.mp4").write_bytes(b"\x00" * 100)
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "me_emotion.video_cli",
            str(videos),
            "--out",
            str(out),
            "--project",
            str(project),
            *_dotted(TINY_MODEL_PARAMS),
        ],
        cwd=tmp_path,
        env=_user_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "report.html").is_file()
    lines = done.stderr.splitlines()
    # The command's lines: its messages, the pipeline's progress, the rejects.
    foreign = [
        line
        for line in lines
        if not line.startswith(("me-emotion-video: ", "  ", "rejected: "))
    ]
    assert foreign == [], done.stderr[-3000:]
    assert _noise(done.stderr) == [], done.stderr[-3000:]
    assert lines[0].startswith("me-emotion-video: analysing")
    assert any(line.startswith("rejected: ") and "broken.mp4" in line for line in lines)
