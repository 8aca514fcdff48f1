import pandas as pd

from tests.conftest import run_pipeline


def test_casme2_ingestion_runs_on_tiny_synthetic(tiny_project):
    run_pipeline(tiny_project, "casme2")
    index = pd.read_parquet(tiny_project / "data/02_intermediate/casme2/clip_index.parquet")
    assert len(index) == 12
