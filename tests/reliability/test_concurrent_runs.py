"""Two processes on one data folder: the second run stops at once, naming the first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd

from me_emotion.datasets import SealedPartitionedDataset

HOLD_THE_LOCK = """
import os, sys, time
from pathlib import Path
from me_emotion.hooks import LOCK_FOLDER, RunLock
lock = RunLock(Path(sys.argv[1]) / LOCK_FOLDER)  # held while this object lives
lock.acquire({"casme2"}, {"pid": os.getpid(), "command": "kedro run --pipelines=casme2"})
print("locked", flush=True)
time.sleep(300)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def _kedro_run(project: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kedro", "run", "--pipelines=casme2", *args],
        cwd=project,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_second_run_stops_naming_the_running_one_until_it_ends(tiny_project):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(tiny_project)],
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        second = _kedro_run(tiny_project, "--to-outputs=casme2.clip_index")
        output, _ = second.communicate(timeout=180)
        assert second.returncode != 0
        assert "Another run is writing the 'casme2' outputs" in output
        assert f'"pid": {holder.pid}' in output
        assert not (
            tiny_project / "data/02_intermediate/casme2/clip_index.parquet"
        ).exists()
    finally:
        holder.send_signal(signal.SIGKILL)  # a killed run leaves no stale lock
        holder.wait()
    third = _kedro_run(tiny_project, "--to-outputs=casme2.clip_index")
    output, _ = third.communicate(timeout=180)
    assert third.returncode == 0, output[-3000:]


def test_two_runs_at_once_never_leave_a_corrupt_stage(tiny_project):
    """The issue's reproduction: both started together, writing sampled_frames."""
    runs = [
        _kedro_run(tiny_project, "--to-outputs=casme2.sampled_frames") for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    codes = [run.returncode for run in runs]
    assert 0 in codes, outputs
    for code, output in zip(codes, outputs):
        if code != 0:  # the only way the later run may fail
            assert "Another run is writing the 'casme2' outputs" in output, output[
                -3000:
            ]
    frames = SealedPartitionedDataset(
        path=str(tiny_project / "data/02_intermediate/casme2/sampled_frames"),
        dataset="me_emotion.datasets.ClipFramesDataset",
        filename_suffix=".npz",
    )
    assert frames.exists()
    index = pd.read_parquet(
        tiny_project / "data/02_intermediate/casme2/clip_index.parquet"
    )
    assert len(frames.load()) == len(index)
