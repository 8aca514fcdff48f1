"""The registered casme2/samm pipelines on releases in the real layouts."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import run_pipeline

from .releases import casme2_release, samm_release


@pytest.fixture
def real_layout_project(kedro_project):
    """conf/local/globals.yml points at fixture releases, as a user would."""
    releases = kedro_project / "releases"
    casme2_root, casme2_sheet = casme2_release(releases / "CASME2")
    samm_root, samm_sheet = samm_release(releases / "SAMM")
    (kedro_project / "conf/local/globals.yml").write_text(
        f"casme2_root: {casme2_root}\ncasme2_coding_file: {casme2_sheet}\n"
        f"samm_root: {samm_root}\nsamm_coding_file: {samm_sheet}\n"
    )
    return kedro_project


@pytest.mark.parametrize(
    ("dataset", "kept", "outside_class_set", "rejected"),
    [("casme2", 4, 1, 2), ("samm", 5, 1, 0)],
)
def test_ingestion_of_real_layouts_through_local_globals(
    real_layout_project, dataset, kept, outside_class_set, rejected
):
    run_pipeline(real_layout_project, dataset, to_outputs=[f"{dataset}.clip_index"])
    folder = real_layout_project / "data/02_intermediate" / dataset
    index = pd.read_parquet(folder / "clip_index.parquet")
    rejects = pd.read_csv(folder / "ingestion_rejects.csv")
    assert len(index) == kept
    assert index["label"].isna().sum() == outside_class_set
    assert len(rejects) == rejected
    assert (index["source"] == "real").all()


def test_missing_release_folder_says_how_to_fix(kedro_project):
    with pytest.raises(Exception, match="kedro run --pipeline=synthetic"):
        run_pipeline(kedro_project, "casme2")
