"""Runs never change a tracked file (kedro-telemetry wrote into pyproject.toml)."""

from __future__ import annotations

from tests.conftest import PROJECT_ROOT, run_pipeline


def test_a_run_without_the_telemetry_opt_out_leaves_pyproject_alone(
    kedro_project, monkeypatch
):
    monkeypatch.delenv("KEDRO_DISABLE_TELEMETRY", raising=False)
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    before = (kedro_project / "pyproject.toml").read_bytes()
    run_pipeline(kedro_project, "synthetic", to_outputs=["synthetic_casme2.clip_plan"])
    assert (kedro_project / "pyproject.toml").read_bytes() == before
    assert b"[tool.kedro_telemetry]" not in before


def test_ci_fails_when_a_tracked_file_changed():
    script = (PROJECT_ROOT / ".ci/run").read_text()
    assert "git status --porcelain --untracked-files=no" in script
    assert "changed tracked files" in script and "exit 1" in script
