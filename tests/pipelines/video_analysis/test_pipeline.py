"""The video pipeline end to end (KedroSession) and the me-emotion-video command.

Runs on a throw-away project copy with two hand-made videos, broken files
and tiny untrained models standing in for the trained ones (see models.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from me_emotion import video_cli
from tests.conftest import run_pipeline
from tests.pipelines.video_analysis.models import TINY_MODEL_PARAMS, write_tiny_models
from tests.pipelines.video_analysis.videos import expression_video_frames, write_video

pytestmark = pytest.mark.integration

EVENTS = [(1.0, 1.3), (2.6, 2.9)]


def _videos(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_video(folder / "smile.avi", expression_video_frames(30.0, 4.0, EVENTS), 30.0)
    write_video(
        folder / "away.avi",
        expression_video_frames(30.0, 3.0, [(0.6, 0.9)], face_out=(1.5, 2.2)),
        30.0,
    )
    (folder / "broken.mp4").write_bytes(b"\x00" * 100)
    return folder


def _dotted(params: dict, prefix: str = "") -> list[str]:
    """``--params`` arguments for a nested dict."""
    pairs = []
    for key, value in params.items():
        if isinstance(value, dict):
            pairs += _dotted(value, f"{prefix}{key}.")
        else:
            pairs += ["--params", f"{prefix}{key}={json.dumps(value)}"]
    return pairs


def test_kedro_run_video_writes_every_output(kedro_project):
    _videos(kedro_project / "data" / "01_raw" / "synthetic" / "videos")
    write_tiny_models(kedro_project)
    run_pipeline(kedro_project, "video", TINY_MODEL_PARAMS)
    out = kedro_project / "data" / "08_reporting" / "video"
    intervals = pd.read_csv(out / "intervals.csv")
    smile = intervals[
        (intervals["video"] == "smile.avi") & (intervals["kind"] == "micro")
    ]
    assert len(smile) == 2
    for (onset_s, offset_s), apex in zip(EVENTS, smile["apex_s"]):
        assert onset_s <= apex <= offset_s
    assert smile["casme2_label"].notna().all() and smile["samm_class3"].notna().all()
    micro = intervals[intervals["kind"] == "micro"]
    # the tiny models always prefer their first class (a null class map sent all to others)
    assert (micro["casme2_label"] == "happiness").all()
    assert (micro["casme2_class3"] == "positive").all()
    assert (micro["samm_label"] == "anger").all()
    assert (micro["samm_class3"] == "negative").all()
    summary = pd.read_csv(out / "summary.csv").set_index("video")
    assert summary.loc["broken.mp4", "status"] == "rejected"
    assert summary.loc["away.avi", "seconds_with_face"] < 3.0 - 0.5
    agreement = pd.read_csv(out / "agreement.csv")
    assert agreement["video"].iloc[-1] == "ALL"
    assert agreement["n_intervals"].iloc[-1] == int(
        (intervals["kind"] == "micro").sum()
    )
    assert summary["models_trained_on"].str.contains("SYNTHETIC").all()
    report = (out / "report.html").read_text()
    assert "SYNTHETIC DATA" in report and "data:image/png;base64" in report
    assert "broken.mp4" in report and "<script" in report
    assert sorted(p.name for p in (out / "timelines").iterdir()) == [
        "away.avi.json",
        "smile.avi.json",
    ]
    sources = json.loads((out / "model_sources.json").read_text())
    assert sources["synthetic"] is True
    # recognition.model auto: the higher LOSO UF1 of models.TINY_LOSO_UF1 per namespace
    assert sources["recognition"]["casme2"]["model"] == "flow_cnn"
    assert sources["recognition"]["samm"]["model"] == "hybrid_micronet"
    assert (micro["model"] == "casme2: flow_cnn; samm: hybrid_micronet").all()
    assert "flow_cnn, LOSO UF1 0.60 (95% interval 0.50-0.70, chance 0.20)" in report


def test_the_command_runs_the_same_pipeline_and_says_what_it_did(
    kedro_project, tmp_path, capsys
):
    videos = _videos(tmp_path / "mine")
    write_tiny_models(kedro_project)
    out = tmp_path / "out"
    status = video_cli.main(
        [str(videos), "--out", str(out), "--project", str(kedro_project)]
        + _dotted(TINY_MODEL_PARAMS)
        + ["--params", "video.recognition.model=flow_cnn"]
    )
    errors = capsys.readouterr().err
    assert status == video_cli.EXIT_OK
    assert "rejected:" in errors and "broken.mp4" in errors
    for name in ("report.html", "intervals.csv", "summary.csv", "agreement.csv"):
        assert (out / name).is_file()
    assert (out / "timelines" / "smile.avi.json").is_file()
    assert not (kedro_project / "data" / "08_reporting" / "video").exists()
    assert (pd.read_csv(out / "intervals.csv")["model"] == "flow_cnn").all()


def test_the_command_fails_clearly_without_models_or_videos(
    kedro_project, tmp_path, capsys
):
    videos = _videos(tmp_path / "mine")
    args = ["--out", str(tmp_path / "out"), "--project", str(kedro_project)]
    args += _dotted(TINY_MODEL_PARAMS)
    assert video_cli.main([str(videos), *args]) == video_cli.EXIT_MODELS_MISSING
    assert "kedro run --pipelines=casme2" in capsys.readouterr().err
    write_tiny_models(kedro_project)
    status = video_cli.main([str(videos / "broken.mp4"), *args])
    assert status == video_cli.EXIT_NOTHING_PROCESSED
    assert "broken.mp4" in capsys.readouterr().err
    assert video_cli.main([str(tmp_path / "nothing_here.mp4"), *args]) == 1


def test_help_explains_every_output(capsys):
    with pytest.raises(SystemExit) as exit_info:
        video_cli.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for name in (
        "report.html",
        "intervals.csv",
        "summary.csv",
        "agreement.csv",
        "rejects.csv",
        "spotting_metrics.csv",
        "timelines",
        "exit status",
    ):
        assert name in text


def test_spotting_is_scored_against_the_synthetic_ground_truth(tiny_project):
    """The synthetic generator's tiny videos carry sidecars: video.spotting_metrics is filled."""
    write_tiny_models(tiny_project)
    run_pipeline(tiny_project, "video", TINY_MODEL_PARAMS)
    metrics = pd.read_csv(
        tiny_project / "data" / "08_reporting" / "video" / "spotting_metrics.csv"
    )
    pooled = metrics[(metrics["video"] == "ALL") & (metrics["kind"] == "micro")]
    assert len(pooled) == 1 and pooled["n_truth"].iloc[0] >= 2
    assert (metrics["data_source"].str.upper() == "SYNTHETIC").all()
    # both splits are scored, per frame rate, under one parameters hash
    groups = set(metrics.loc[metrics["kind"] == "micro", "video"])
    for split, seed in (("dev", 2026), ("test", 777)):
        assert f"ALL {split} standard 30fps" in groups
        assert f"ALL {split} standard 200fps" in groups
        assert any(v.startswith(f"{split}_s{seed}_") for v in groups)
    assert metrics["spotting_params_hash"].nunique() == 1
    report = (
        tiny_project / "data" / "08_reporting" / "video" / "report.html"
    ).read_text()
    assert "Spotting against the ground truth" in report
