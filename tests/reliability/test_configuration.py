"""Typos in parameters, ``--params`` and globals stop the run, naming key, keys and file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml
from kedro.config import OmegaConfigLoader

from me_emotion.parameters import (
    BLOCKS,
    ParameterError,
    check_block,
    parameter_blocks,
    validate_parameters,
)
from tests.conftest import PROJECT_ROOT, run_pipeline


def _run_ingestion(project: Path, extra_params: dict | None = None) -> None:
    run_pipeline(project, "casme2", extra_params, to_outputs=["casme2.clip_index"])


def test_every_parameter_block_of_conf_base_has_a_schema():
    """A new block (e.g. a new pipeline's) needs a schema in parameters.BLOCKS."""
    params = OmegaConfigLoader(
        str(PROJECT_ROOT / "conf"), base_env="base", default_run_env="base"
    )["parameters"]
    sections = [section for section, _, _ in parameter_blocks(params)]
    assert "casme2.feature_extraction" in sections and "synthetic" in sections
    assert validate_parameters(params) == [], (
        "parameter blocks without a schema: add them to BLOCKS in "
        "src/me_emotion/parameters.py"
    )


def test_class_set_typo_in_params_stops_the_run(kedro_project):
    extra = {"casme2": {"data_ingestion": {"class_sett": "all_labels"}}}
    with pytest.raises(ParameterError) as error:
        _run_ingestion(kedro_project, extra)
    message = str(error.value)
    assert "casme2.data_ingestion" in message and "'class_sett'" in message
    assert "'class_set'" in message  # the expected keys
    assert "parameters_data_ingestion.yml" in message


def test_nested_typo_in_params_stops_the_run(kedro_project):
    extra = {"casme2": {"feature_extraction": {"flow": {"methd": "farneback"}}}}
    with pytest.raises(ParameterError, match=r"feature_extraction\.flow.*'methd'"):
        _run_ingestion(kedro_project, extra)


def test_reporting_headline_outside_the_reported_protocols_stops_the_run(
    kedro_project,
):
    """A rule across keys, checked at startup like the keys (not again by each node)."""
    extra = {"casme2": {"reporting": {"headline": {"protocol": "holdout"}}}}
    with pytest.raises(
        ParameterError,
        match=r"casme2\.reporting\.headline\.protocol 'holdout' is not one of "
        r"params:casme2\.reporting\.protocols \['paper_random_split', 'loso'\]"
        r" \(see conf/base/parameters_reporting\.yml\)",
    ):
        _run_ingestion(kedro_project, extra)


def test_params_key_of_an_unknown_block_stops_the_run(kedro_project):
    extra = {"casme2": {"data_ingestin": {"class_set": "all_labels"}}}
    with pytest.raises(ParameterError, match=r"casme2\.data_ingestin\.class_set"):
        _run_ingestion(kedro_project, extra)


def test_globals_typo_in_conf_local_stops_the_run(kedro_project):
    (kedro_project / "conf/local/globals.yml").write_text("casme2_rot: /data/CASME2\n")
    with pytest.raises(ParameterError) as error:
        _run_ingestion(kedro_project)
    message = str(error.value)
    assert "'casme2_rot'" in message and "casme2_root" in message
    assert "conf/local/globals.yml" in message


def test_renamed_key_in_the_yaml_file_names_both_keys_and_the_file(kedro_project):
    path = kedro_project / "conf/base/parameters_feature_extraction.yml"
    path.write_text(path.read_text().replace("method: tvl1", "methd: tvl1"))
    with pytest.raises(ParameterError) as error:
        _run_ingestion(kedro_project)
    message = str(error.value)
    assert "unknown key(s) ['methd']" in message
    assert "missing key(s) ['method']" in message
    assert "conf/base/parameters_feature_extraction.yml" in message


@pytest.mark.parametrize(
    ("block", "change", "expected"),
    [
        ("feature_extraction", {"batch_size": "32"}, "batch_size must be an integer"),
        ("preprocessing", {"strategy": "every"}, "strategy must be one of"),
        ("face_detection", {"min_size": [100]}, "min_size must be a list of 2"),
        ("training", {"seed": True}, "seed must be an integer"),
        # checked here once, not again by the nodes
        (
            "preprocessing",
            {"frames_per_sides": 2},
            r"unknown key\(s\) \['frames_per_sides'\]",
        ),
        ("preprocessing", {"release_fps": 0}, "release_fps must be a number > 0"),
        (
            "preprocessing",
            {"paper": {"target_fps": 10, "frames_per_side": -1}},
            "frames_per_side must be an integer >= 0",
        ),
        (
            "face_detection",
            {"min_neighbours": 3},
            r"unknown key\(s\) \['min_neighbours'\]",
        ),
        ("face_detection", {"detector": "dnn"}, "detector must be one of"),
        ("face_detection", {"scale_factor": 1.0}, "scale_factor must be a number > 1"),
        ("face_detection", {"margin": -0.1}, "margin must be a number >= 0"),
        ("training", {"profile": "paper"}, r"unknown key\(s\) \['profile'\]"),
        ("reporting", {"decimal": 2}, r"unknown key\(s\) \['decimal'\]"),
        ("reporting", {"decimals": -1}, "decimals must be an integer >= 0"),
        (
            "reporting",
            {"headline": {"protocol": "loso", "level": "video"}},
            "headline.level must be one of",
        ),
        (
            "reporting",
            {"headline": {"protocol": "composite", "level": "clip"}},
            r"headline.protocol 'composite' is not one of",
        ),
    ],
)
def test_wrong_types_are_rejected(block, change, expected):
    file = PROJECT_ROOT / BLOCKS[block].file
    params = {**yaml.safe_load(file.read_text())["casme2"][block], **change}
    if block == "data_ingestion":
        params["coding_file"] = "x.xlsx"
    with pytest.raises(ParameterError, match=expected):
        check_block(params, block, f"casme2.{block}")


def test_run_logs_its_data_roots_and_says_synthetic(tiny_project, caplog):
    with caplog.at_level(logging.INFO, logger="me_emotion.hooks"):
        _run_ingestion(tiny_project)
    assert (
        "casme2_root = data/01_raw/synthetic/casme2/frames (SYNTHETIC demo data)"
        in (caplog.text)
    )
